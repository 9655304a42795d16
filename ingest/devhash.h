/*
 * devhash.h: the device hashes the writer keeps merging (writer.c).
 *
 * One record per device whose hash the writer is holding back or wrote
 * lately: the fields merged since its last HSET, field by field, the later
 * value winning, which leaves P:device:<id> as consecutive HSETs would.
 * Records are found by the device id as reported (escaping is one to one:
 * no key to build nor prefix to hash per frame) and listed oldest write
 * first, so the writer's timer finds the ones due at the front.
 */
#ifndef GA_INGEST_DEVHASH_H
#define GA_INGEST_DEVHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/report.h"

struct resp;

/* A field: offsets into the record's arena. */
struct devhash_pair {
	uint32_t k, klen, v, vlen;
};

struct devhash_dev {
	struct devhash_dev *hnext;		/* hash chain */
	struct devhash_dev *prev, *next;	/* oldest write first */
	size_t hash;
	int64_t written_ms;		/* last HSET handed over */
	bool written;			/* written_ms is set */
	bool urgent;			/* the writer's: write it now */
	int owner;			/* the writer's: its batch entry, or -1 */
	int n, cap;			/* fields waiting */
	struct devhash_pair *pairs;
	char *arena;			/* their names and values */
	uint32_t alen, acap;
	char id[REPORT_ID_MAX];		/* as reported */
	size_t keylen;
	char key[];			/* <prefix><id escaped> */
};

struct devhash {
	struct devhash_dev **buckets;
	size_t nbuckets, ndevs;
	struct devhash_dev *first, *last;	/* oldest write first */
	char *prefix;
};

/* An empty table whose keys are prefix (copied) + the escaped id. */
void devhash_init(struct devhash *t, const char *prefix);

/* Frees every record and the table's memory. */
void devhash_free(struct devhash *t);

/* The record of id, created (last in the list, owner -1) when new;
 * *created says which. */
struct devhash_dev *devhash_get(struct devhash *t, const char *id,
    bool *created);

/* Drops d. */
void devhash_forget(struct devhash *t, struct devhash_dev *d);

/* d's fields were handed over at now: they are forgotten (their memory
 * too) and d goes to the back of the list. */
void devhash_written(struct devhash *t, struct devhash_dev *d, int64_t now);

/*
 * Sets field k to v in d.  Fields waiting from before this update (the
 * first `old`, d->n when the update began) are replaced in place; the rest
 * are appended, as HSET would keep them (a field repeated within one
 * update: the later wins in Redis too).  *at is where the search starts
 * (0 for an update's first field): a device's reports have the same fields
 * in the same order, so the field after the last one found is nearly
 * always the one.
 */
void devhash_set(struct devhash_dev *d, int old, int *at, const char *k,
    size_t klen, const char *v, size_t vlen);

/* devhash_set of NUL-terminated k and v. */
void devhash_set_s(struct devhash_dev *d, int old, int *at, const char *k,
    const char *v);

/* Appends `HSET <key> <fields waiting>` to out. */
void devhash_encode(const struct devhash_dev *d, struct resp *out);

#endif
