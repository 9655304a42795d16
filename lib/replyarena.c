/*
 * replyarena.c: hiredis reply objects from a bump arena (see replyarena.h
 * for why, and for the one-reply-at-a-time rule that makes it sound).
 */
#include "lib/replyarena.h"

#include <hiredis/hiredis.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

/* A block serves many replies' objects; larger requests get their own. */
#define BLOCK_SIZE (256u << 10)

struct block {
	struct block *next;
	size_t size;		/* bytes in data */
	size_t used;
	alignas(max_align_t) unsigned char data[];
};

struct replyarena {
	struct block *head;	/* blocks in order of use */
	struct block *cur;	/* the one being carved */
	size_t total;		/* bytes in all blocks */
};

/* The root of a reply carries its arena, which freeObject needs. */
struct root {
	struct replyarena *arena;
	redisReply reply;
};

struct replyarena *
replyarena_new(void)
{
	return xcalloc(1, sizeof(struct replyarena));
}

void
replyarena_free(struct replyarena *a)
{
	struct block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

size_t
replyarena_size(const struct replyarena *a)
{
	return a->total;
}

static void *
carve(struct replyarena *a, size_t n)
{
	struct block *b;

	n = (n + 7) & ~(size_t)7;
	/* The current block, else the next kept one that is large enough. */
	while (a->cur != NULL && a->cur->size - a->cur->used < n) {
		if (a->cur->next == NULL)
			break;
		a->cur = a->cur->next;
		a->cur->used = 0;
	}
	if (a->cur == NULL || a->cur->size - a->cur->used < n) {
		size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;

		b = xmalloc(sizeof *b + size);
		b->size = size;
		b->used = 0;
		b->next = NULL;
		if (a->cur == NULL)
			a->head = b;
		else
			a->cur->next = b;
		a->cur = b;
		a->total += size;
	}
	b = a->cur;
	b->used += n;
	return b->data + b->used - n;
}

/* Every object is gone: rewind, keeping at most REPLYARENA_KEEP bytes. */
static void
rewind_arena(struct replyarena *a)
{
	struct block *b, *next, **link = &a->head;
	size_t kept = 0;

	while ((b = *link) != NULL && kept + b->size <= REPLYARENA_KEEP) {
		kept += b->size;
		link = &b->next;
	}
	for (; b != NULL; b = next) {
		next = b->next;
		a->total -= b->size;
		free(b);
	}
	*link = NULL;
	a->cur = a->head;
	if (a->cur != NULL)
		a->cur->used = 0;
}

/* A new object of task's place in the tree, linked into its parent. */
static redisReply *
object(const redisReadTask *task, int type)
{
	struct replyarena *a = task->privdata;
	redisReply *r;

	if (task->parent == NULL) {
		struct root *root = carve(a, sizeof *root);

		root->arena = a;
		r = &root->reply;
	} else {
		redisReply *parent = task->parent->obj;

		r = carve(a, sizeof *r);
		parent->element[task->idx] = r;
	}
	memset(r, 0, sizeof *r);
	r->type = type;
	return r;
}

static void *
create_string(const redisReadTask *task, char *str, size_t len)
{
	redisReply *r = object(task, task->type);

	r->str = carve(task->privdata, len + 1);
	memcpy(r->str, str, len);
	r->str[len] = '\0';
	r->len = len;
	return r;
}

static void *
create_array(const redisReadTask *task, int elements)
{
	redisReply *r = object(task, REDIS_REPLY_ARRAY);

	r->elements = (size_t)elements;
	if (elements > 0) {
		r->element = carve(task->privdata,
		    (size_t)elements * sizeof *r->element);
		memset(r->element, 0, (size_t)elements * sizeof *r->element);
	}
	return r;
}

static void *
create_integer(const redisReadTask *task, long long value)
{
	redisReply *r = object(task, REDIS_REPLY_INTEGER);

	r->integer = value;
	return r;
}

static void *
create_nil(const redisReadTask *task)
{
	return object(task, REDIS_REPLY_NIL);
}

/* hiredis frees roots only: the whole tree, hence the whole arena. */
static void
free_object(void *obj)
{
	struct root *root;

	if (obj == NULL)
		return;
	root = (struct root *)((char *)obj - offsetof(struct root, reply));
	rewind_arena(root->arena);
}

static redisReplyObjectFunctions arena_functions = {
	create_string, create_array, create_integer, create_nil, free_object,
};

void
replyarena_attach(struct replyarena *a, struct redisReader *reader)
{
	reader->fn = &arena_functions;
	reader->privdata = a;
	/* 0: never drop the buffer when it empties (hiredis 0.14's maxbuf). */
	reader->maxbuf = 0;
}
