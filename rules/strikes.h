/*
 * strikes.h: a bounded map (device id, rule number) -> consecutive
 * failures, for the rules failure policy of devices that use the defaults
 * (listed devices keep their counters in their own entry).  Only pairs
 * that are currently failing are stored; a success removes the pair.
 */
#ifndef GA_RULES_STRIKES_H
#define GA_RULES_STRIKES_H

#include <stdbool.h>
#include <stddef.h>

struct strikes;

struct strike {
	int fails;		/* failures in a row */
	bool off;		/* disabled for this device */
};

/* A map holding at most max pairs.  Free with strikes_free. */
struct strikes *strikes_new(size_t max);

/* Frees the map; NULL does nothing. */
void strikes_free(struct strikes *s);

/*
 * The counters of (device, rule), or NULL when absent.  With add, an
 * absent pair is created (zeroed) unless the map is full (then NULL).
 * The pointer is valid until the next strikes_add/del/clear.
 */
struct strike *strikes_get(struct strikes *s, const char *device,
    size_t rule, bool add);

/* Removes (device, rule) if present. */
void strikes_del(struct strikes *s, const char *device, size_t rule);

/* Removes every pair. */
void strikes_clear(struct strikes *s);

#endif
