/*
 * strikes.c: open addressing with linear probing and backward-shift
 * deletion (no tombstones, so a long-running engine whose devices fail
 * and recover never degrades the table).  Twice as many slots as pairs.
 */
#include "rules/strikes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"

struct slot {
	char *device;		/* NULL: empty */
	size_t rule;
	struct strike v;
};

struct strikes {
	struct slot *slots;
	size_t mask;		/* slots - 1, a power of two minus one */
	size_t n, max;
};

static size_t
hash(const struct strikes *s, const char *device, size_t rule)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *device != '\0'; device++)
		h = (h ^ (unsigned char)*device) * 1099511628211ULL;
	return (size_t)((h ^ rule) * 1099511628211ULL) & s->mask;
}

struct strikes *
strikes_new(size_t max)
{
	struct strikes *s = xcalloc(1, sizeof *s);
	size_t n = 8;

	while (n < max * 2)
		n *= 2;
	s->slots = xcalloc(n, sizeof *s->slots);
	s->mask = n - 1;
	s->max = max;
	return s;
}

void
strikes_free(struct strikes *s)
{
	if (s == NULL)
		return;
	strikes_clear(s);
	free(s->slots);
	free(s);
}

static struct slot *
find(struct strikes *s, const char *device, size_t rule)
{
	size_t i = hash(s, device, rule);
	struct slot *sl;

	for (;; i = (i + 1) & s->mask) {
		sl = &s->slots[i];
		if (sl->device == NULL ||
		    (sl->rule == rule && strcmp(sl->device, device) == 0))
			return sl;
	}
}

struct strike *
strikes_get(struct strikes *s, const char *device, size_t rule, bool add)
{
	struct slot *sl;

	if (s->n == 0 && !add)
		return NULL;
	sl = find(s, device, rule);
	if (sl->device != NULL)
		return &sl->v;
	if (!add || s->n >= s->max)
		return NULL;
	sl->device = xstrdup(device);
	sl->rule = rule;
	memset(&sl->v, 0, sizeof sl->v);
	s->n++;
	return &sl->v;
}

void
strikes_del(struct strikes *s, const char *device, size_t rule)
{
	struct slot *sl;
	size_t i, j, k;

	if (s->n == 0)
		return;
	sl = find(s, device, rule);
	if (sl->device == NULL)
		return;
	free(sl->device);
	sl->device = NULL;
	s->n--;
	i = j = (size_t)(sl - s->slots);
	for (;;) {
		j = (j + 1) & s->mask;
		if (s->slots[j].device == NULL)
			return;
		k = hash(s, s->slots[j].device, s->slots[j].rule);
		/* Leave j where it is when its home k lies cyclically in
		 * (i, j]: a lookup from k still reaches it. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		s->slots[i] = s->slots[j];
		s->slots[j].device = NULL;
		i = j;
	}
}

void
strikes_clear(struct strikes *s)
{
	size_t i;

	for (i = 0; i <= s->mask; i++) {
		free(s->slots[i].device);
		s->slots[i].device = NULL;
	}
	s->n = 0;
}

