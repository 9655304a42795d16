/*
 * resptext.h: one RESP-encoded command decoded back into "arg|arg|..."
 * text, for tests that check the exact commands written (header-only,
 * static inline).  Include after <cmocka.h>.
 */
#ifndef GA_TESTS_INGEST_RESPTEXT_H
#define GA_TESTS_INGEST_RESPTEXT_H

#include <stdlib.h>
#include <string.h>

/* Decodes the command cmd[0..len) into out (large enough); fails the test
 * unless it is exactly one well-formed command. */
static inline void
resp_text(const char *cmd, size_t len, char *out)
{
	const char *p = cmd, *end = cmd + len;
	char *o = out;
	long n;

	assert_true(len > 0 && *p == '*');
	n = strtol(p + 1, (char **)&p, 10);
	p += 2;
	for (long i = 0; i < n; i++) {
		long l;

		assert_true(p < end && *p == '$');
		l = strtol(p + 1, (char **)&p, 10);
		p += 2;
		assert_true(p + l + 2 <= end);
		if (i > 0)
			*o++ = '|';
		memcpy(o, p, (size_t)l);
		o += l;
		p += l + 2;
	}
	/* Exactly one command, nothing after it. */
	assert_true(p == end);
	*o = '\0';
}

#endif
