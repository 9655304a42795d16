/*
 * detect.c: protocol detection on a shared port (detect.h).
 *
 * The look-alikes are checked only at the first byte that is not
 * whitespace: that is where a GT06, H02, HTTP or TLS peer starts talking.
 * Their names make the reject reason useful to whoever pointed the device
 * at the wrong port.
 */
#include "ingest/detect.h"

#include <string.h>

#include "ingest/frame.h"

enum match { MATCH_NO, MATCH_YES, MATCH_PARTIAL };

/* Does buf[0..len) start with tok, or is it a proper prefix of tok? */
static enum match
match(const uint8_t *buf, size_t len, const char *tok)
{
	size_t n = strlen(tok);

	if (len >= n)
		return memcmp(buf, tok, n) == 0 ? MATCH_YES : MATCH_NO;
	return memcmp(buf, tok, len) == 0 ? MATCH_PARTIAL : MATCH_NO;
}

static enum detect_result
found(struct detect *d, enum detect_result r, size_t start)
{
	d->start = start;
	d->kind = NULL;
	d->reason = NULL;
	return r;
}

static enum detect_result
reject(struct detect *d, size_t start, const char *kind, const char *reason)
{
	d->start = start;
	d->kind = kind;
	d->reason = reason;
	return DETECT_REJECT;
}

/*
 * GT06 packets start 78 78 LEN or 79 79 LEN LEN and end in CR LF right
 * where LEN says.  Checking the end keeps text junk such as "xx\r\n" in
 * front of a TK103 frame (section 2.8) from passing for GT06.
 */
static enum match
match_gt06(const uint8_t *b, size_t len, size_t max)
{
	size_t stop;

	if (len < 1 || (b[0] != 0x78 && b[0] != 0x79))
		return MATCH_NO;
	if (len < 2)
		return MATCH_PARTIAL;
	if (b[1] != b[0])
		return MATCH_NO;
	if (b[0] == 0x78) {
		if (len < 3)
			return MATCH_PARTIAL;
		stop = 3 + (size_t)b[2];
	} else {
		if (len < 4)
			return MATCH_PARTIAL;
		stop = 4 + ((size_t)b[2] << 8 | b[3]);
	}
	if (stop + 2 > max)
		return MATCH_NO;
	if (len < stop + 2)
		return MATCH_PARTIAL;
	return b[stop] == '\r' && b[stop + 1] == '\n' ? MATCH_YES : MATCH_NO;
}

static const struct lookalike {
	const char *token;
	const char *kind;
	const char *reason;
} lookalikes[] = {
	{ "*HQ,", "h02", "H02 protocol (*HQ,), not TK103 or GPS103" },
	{ "GET ", "http", "HTTP request (GET), not a tracker protocol" },
	{ "POST ", "http", "HTTP request (POST), not a tracker protocol" },
	{ "HEAD ", "http", "HTTP request (HEAD), not a tracker protocol" },
	{ "PUT ", "http", "HTTP request (PUT), not a tracker protocol" },
	{ "DELETE ", "http", "HTTP request (DELETE), not a tracker protocol" },
	{ "OPTIONS ", "http", "HTTP request (OPTIONS), not a tracker protocol" },
	{ "PATCH ", "http", "HTTP request (PATCH), not a tracker protocol" },
	{ "CONNECT ", "http", "HTTP request (CONNECT), not a tracker protocol" },
	{ "TRACE ", "http", "HTTP request (TRACE), not a tracker protocol" },
	{ "PRI * HTTP/2", "http", "HTTP/2 preface, not a tracker protocol" },
	{ "\x16\x03", "tls", "TLS handshake, not a tracker protocol" },
	{ "SSH-", "ssh", "SSH client, not a tracker protocol" },
};
#define NLOOKALIKES (sizeof lookalikes / sizeof lookalikes[0])

static const char gt06_reason[] =
    "GT06 binary protocol (78 78), not TK103 or GPS103";
static const char junk_reason[] =
    "neither TK103 nor GPS103: no frame start within max-frame bytes";
static const char junk_eof_reason[] =
    "neither TK103 nor GPS103: no frame start before end of input";

enum detect_result
detect_proto(const uint8_t *buf, size_t len, size_t max, bool eof,
    struct detect *d)
{
	size_t p = 0, end, k;
	const uint8_t *b;
	size_t n;
	bool partial = false;
	enum match m;

	while (p < len && frame_is_space(buf[p]))
		p++;
	if (p == len)
		return found(d, DETECT_NEED_MORE, p);
	b = buf + p;
	n = len - p;

	if (b[0] == '(')
		return found(d, DETECT_TK103, p);
	if (b[0] >= '0' && b[0] <= '9')
		return found(d, DETECT_GPS103, p);
	if ((m = match(b, n, "imei:")) == MATCH_YES ||
	    (m == MATCH_NO && (m = match(b, n, "##,")) == MATCH_YES))
		return found(d, DETECT_GPS103, p);
	if (m == MATCH_PARTIAL)
		partial = true;

	/* Look-alikes, named, at the first byte only. */
	if ((m = match_gt06(b, n, max)) == MATCH_YES)
		return reject(d, p, "gt06", gt06_reason);
	if (m == MATCH_PARTIAL)
		partial = true;
	for (size_t i = 0; i < NLOOKALIKES; i++) {
		m = match(b, n, lookalikes[i].token);
		if (m == MATCH_YES)
			return reject(d, p, lookalikes[i].kind, lookalikes[i].reason);
		if (m == MATCH_PARTIAL)
			partial = true;
	}
	if (partial && !eof)
		return found(d, DETECT_NEED_MORE, p);

	/* Junk: the first start token within max bytes decides. */
	end = len - p > max ? p + max : len;
	for (k = p; k < end; k++) {
		const uint8_t *t = buf + k;

		if (*t == '(')
			return found(d, DETECT_TK103, k);
		if (*t != 'i' && *t != '#')
			continue;
		if (match(t, len - k, "imei:") == MATCH_YES ||
		    match(t, len - k, "##,") == MATCH_YES)
			return found(d, DETECT_GPS103, k);
	}
	if (len - p >= max)
		return reject(d, p, "unknown", junk_reason);
	if (eof)
		return reject(d, p, "unknown", junk_eof_reason);
	return found(d, DETECT_NEED_MORE, p);
}
