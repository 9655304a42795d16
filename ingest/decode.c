/*
 * decode.c: --decode (decode.h).  Reads files, feeds them to a session as
 * the daemon's connection code would, and writes one JSON line per
 * session callback.  The only file I/O of the protocol layer lives here.
 */
#include "ingest/decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/report.h"
#include "ingest/session.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/xmalloc.h"

/* Bytes read at a time in stream mode. */
#define READ_CHUNK 65536

struct out {
	FILE *fp;
	struct jsonw *json;
	struct report_fields *fields;
};

/* Writes the report object: report_format's fields, numbers as numbers. */
static void
put_report(struct out *o, const struct report *r)
{
	struct jsonw *j = o->json;

	/* Cut fields (-1) are still printed: they are never corrupted. */
	(void)report_format(r, o->fields);
	jsonw_object_open(j);
	for (int k = 0; k < o->fields->n; k++) {
		const struct report_field *f = &o->fields->f[k];

		jsonw_key(j, f->key, strlen(f->key));
		if (f->number)
			jsonw_number(j, f->val, f->len);
		else
			jsonw_string(j, f->val, f->len);
	}
	jsonw_object_close(j);
}

static void
on_frame(void *arg, const struct session_frame *f)
{
	struct out *o = arg;
	struct jsonw *j = o->json;
	const char *text;
	size_t len;

	jsonw_reset(j);
	jsonw_object_open(j);
	jsonw_key(j, "frame", 5);
	jsonw_escaped(j, f->raw, f->len);
	jsonw_key(j, "report", 6);
	if (f->report != NULL)
		put_report(o, f->report);
	else
		jsonw_null(j);
	jsonw_key(j, "reply", 5);
	if (f->reply != NULL)
		jsonw_escaped(j, (const uint8_t *)f->reply->buf, f->reply->len);
	else
		jsonw_null(j);
	jsonw_key(j, "error", 5);
	if (f->error != NULL)
		jsonw_string(j, f->error, strlen(f->error));
	else
		jsonw_null(j);
	jsonw_object_close(j);
	text = jsonw_data(j, &len);
	fwrite(text, 1, len, o->fp);
	fputc('\n', o->fp);
}

/* Stream mode: chunks through one session, as a TCP connection. */
static int
run_stream(FILE *in, const char *name, struct session *s, struct out *o,
    char *err, size_t errlen)
{
	uint8_t *buf = xmalloc(READ_CHUNK);
	size_t have = 0, cap = READ_CHUNK;
	bool eof = false, close_peer = false;
	int rc = 0;

	while (!eof && !close_peer) {
		size_t n, used;

		if (cap - have < READ_CHUNK) {
			cap = have + READ_CHUNK;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + have, 1, READ_CHUNK, in);
		if (n < READ_CHUNK) {
			if (ferror(in)) {
				snprintf(err, errlen, "%s: %s", name,
				    strerror(errno));
				rc = -1;
				break;
			}
			eof = true;
		}
		have += n;
		used = session_feed(s, buf, have, clock_now_ms(), eof, on_frame,
		    o, &close_peer);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);
	return rc;
}

/* Datagram mode: the whole input is one datagram. */
static int
run_datagram(FILE *in, const char *name, struct session *s, struct out *o,
    char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t have = 0, cap = 0, n;

	do {
		if (cap - have < READ_CHUNK) {
			cap = have + READ_CHUNK;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + have, 1, READ_CHUNK, in);
		have += n;
	} while (n == READ_CHUNK);
	if (ferror(in)) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		free(buf);
		return -1;
	}
	session_datagram(s, buf, have, clock_now_ms(), on_frame, o);
	free(buf);
	return 0;
}

int
decode_stream(FILE *in, const char *name, bool udp, size_t max_frame,
    FILE *out, char *err, size_t errlen)
{
	struct out o;
	struct session *s;
	int rc;

	o.fp = out;
	o.json = jsonw_new();
	o.fields = xmalloc(sizeof *o.fields);
	s = session_new(max_frame > 0 ? max_frame : DECODE_MAX_FRAME);
	if (udp)
		rc = run_datagram(in, name, s, &o, err, errlen);
	else
		rc = run_stream(in, name, s, &o, err, errlen);
	session_free(s);
	free(o.fields);
	jsonw_free(o.json);
	if (rc == 0 && (fflush(out) != 0 || ferror(out))) {
		snprintf(err, errlen, "writing output: %s", strerror(errno));
		rc = -1;
	}
	return rc;
}

int
decode_run(char *const *files, int nfiles, bool udp, size_t max_frame,
    FILE *out, char *err, size_t errlen)
{
	if (nfiles == 0)
		return decode_stream(stdin, "stdin", udp, max_frame, out, err,
		    errlen);
	for (int i = 0; i < nfiles; i++) {
		FILE *in = fopen(files[i], "rb");
		int rc;

		if (in == NULL) {
			snprintf(err, errlen, "%s: %s", files[i],
			    strerror(errno));
			return -1;
		}
		rc = decode_stream(in, files[i], udp, max_frame, out, err,
		    errlen);
		fclose(in);
		if (rc < 0)
			return rc;
	}
	return 0;
}
