/*
 * entries.c: walking the entries of an XREADGROUP or XAUTOCLAIM reply.
 */
#include "engine/entries.h"

#include <hiredis.h>
#include <stdlib.h>

#include "lib/xmalloc.h"

struct entries {
	const redisReply *list;		/* the entries array, or NULL */
	size_t next;
	struct rules_field *fields;	/* one entry's, reused */
	size_t afields;
};

struct entries *
entries_new(void)
{
	return xcalloc(1, sizeof(struct entries));
}

void
entries_free(struct entries *en)
{
	if (en == NULL)
		return;
	free(en->fields);
	free(en);
}

long
entries_open(struct entries *en, const redisReply *r, bool claim,
    const char **cursor)
{
	en->list = NULL;
	en->next = 0;
	if (claim) {
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY)
			return -1;
		*cursor = r->element[0]->str;
		en->list = r->element[1];
	} else if (r->type == REDIS_REPLY_ARRAY) {
		const redisReply *s;

		if (r->elements == 0)
			return 0;
		s = r->element[0];
		if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
		    s->element[1]->type != REDIS_REPLY_ARRAY)
			return -1;
		en->list = s->element[1];
	} else if (r->type != REDIS_REPLY_NIL) {
		return -1;
	}
	return en->list != NULL ? (long)en->list->elements : 0;
}

bool
entries_next(struct entries *en, const char **id,
    const struct rules_field **fields, size_t *nfields, bool *trimmed)
{
	const redisReply *e, *kv;
	size_t j, nf;

	for (;;) {
		if (en->list == NULL || en->next >= en->list->elements)
			return false;
		e = en->list->element[en->next++];
		if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
		    e->element[0]->type == REDIS_REPLY_STRING)
			break;
	}
	*id = e->element[0]->str;
	kv = e->element[1];
	*fields = NULL;
	*nfields = 0;
	*trimmed = kv->type != REDIS_REPLY_ARRAY;
	if (*trimmed)
		return true;
	if (kv->elements / 2 > en->afields) {
		en->afields = kv->elements / 2;
		en->fields = xreallocarray(en->fields, en->afields,
		    sizeof *en->fields);
	}
	for (j = 0, nf = 0; j + 1 < kv->elements; j += 2) {
		if (kv->element[j]->type != REDIS_REPLY_STRING ||
		    kv->element[j + 1]->type != REDIS_REPLY_STRING)
			continue;
		en->fields[nf].key = kv->element[j]->str;
		en->fields[nf].value = kv->element[j + 1]->str;
		en->fields[nf++].len = kv->element[j + 1]->len;
	}
	*fields = en->fields;
	*nfields = nf;
	return true;
}
