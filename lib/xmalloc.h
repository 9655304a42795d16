/*
 * xmalloc.h: allocation that never returns NULL.
 *
 * Out of memory in our own C code is not recoverable in a meaningful way
 * (every queue has a bound; exceeding the machine is a broken deployment),
 * so these log and abort.  Out of memory inside Lua is a rule error and
 * goes through the sandbox allocator instead.
 */
#ifndef GA_LIB_XMALLOC_H
#define GA_LIB_XMALLOC_H

#include <stddef.h>

/* Each returns memory the caller frees with free(); none returns NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

/*
 * Formats into a new string the caller frees; aborts on failure.  The format
 * attribute (GCC and Clang) lets -Wformat check every caller.
 */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
