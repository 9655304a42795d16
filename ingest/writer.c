/*
 * writer.c: session frames to Redis commands, queued in the outbox.
 *
 * Key names embed the device id escaped (escape.h), so a hostile id can
 * neither split a key nor smuggle bytes into one.  The device hash keeps
 * the last report's fields; `alarm` is written as "" when the report has
 * none, so an old alarm does not stay on the device forever.
 */
#include "ingest/writer.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/outbox.h"
#include "ingest/report.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/xmalloc.h"

/* XADD key MAXLEN ~ N * + fields + raw recv transport peer, and HSET. */
#define MAX_ARGS (8 + 2 * (REPORT_MAX_FIELDS + 8))
/* Escaped raw frame: every byte may become 4. */
#define RAW_ESC_MAX (4 * 8192 + 1)
/* Reject log lines per second at most; a flood of junk datagrams must not
 * flood the log.  The ones left out are counted in the next line. */
#define REJECT_LOGS_PER_S 20

struct writer {
	struct outbox *ob;
	char *positions_key;
	char *rejects_key;
	char *device_prefix;
	char *results_key;
	char maxlen[24];

	struct metric *frames;		/* by result */
	struct metric *rejects;		/* by reason */
	struct metric *reports;

	int64_t log_second;		/* second of the reject lines counted */
	int log_count;			/* reject lines logged in log_second */
	uint64_t log_skipped;		/* reject lines not logged since */

	/* Scratch, kept here rather than on the stack (about 40 KiB). */
	struct report_fields fields;
	const char *argv[MAX_ARGS];
	size_t lens[MAX_ARGS];
	char raw[RAW_ESC_MAX];
};

struct writer *
writer_new(struct outbox *ob, const char *prefix, int64_t stream_maxlen,
    struct metrics *m)
{
	struct writer *w = xcalloc(1, sizeof *w);

	w->ob = ob;
	w->positions_key = xasprintf("%s:positions", prefix);
	w->rejects_key = xasprintf("%s:rejects", prefix);
	w->device_prefix = xasprintf("%s:device:", prefix);
	w->results_key = xasprintf("%s:command-results", prefix);
	snprintf(w->maxlen, sizeof w->maxlen, "%" PRId64, stream_maxlen);
	if (m != NULL) {
		w->frames = metrics_labelled(m, "geoalarm_ingest_frames_total",
		    "Frames received, by outcome", "result");
		w->reports = metrics_counter(m, "geoalarm_ingest_reports_total",
		    "Reports decoded and queued for Redis");
		w->rejects = metrics_labelled(m, "geoalarm_ingest_rejects_total",
		    "Rejected input, by reason", "reason");
	}
	return w;
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	free(w->positions_key);
	free(w->rejects_key);
	free(w->device_prefix);
	free(w->results_key);
	free(w);
}

/* ---- Argument lists ---- */

struct args {
	struct writer *w;
	int n;
};

static void
arg(struct args *a, const char *s, size_t len)
{
	if (a->n >= MAX_ARGS)
		return;
	a->w->argv[a->n] = s;
	a->w->lens[a->n] = len;
	a->n++;
}

static void
arg_s(struct args *a, const char *s)
{
	arg(a, s, strlen(s));
}

/* Encodes the argument list as one RESP command into cmds[*n]. */
static void
encode(struct args *a, char **cmds, size_t *lens, int *n)
{
	char *cmd;
	long long len = redisFormatCommandArgv(&cmd, a->n, a->w->argv, a->w->lens);

	if (len < 0) {
		log_error("writer: cannot encode a command");
		return;
	}
	cmds[*n] = cmd;
	lens[*n] = (size_t)len;
	(*n)++;
}

/* Escaped device id as used in the key (bounded by REPORT_ID_MAX). */
static char *
device_key(struct writer *w, const char *device, char *buf, size_t size)
{
	char esc[4 * REPORT_ID_MAX + 1];

	escape_bytes(esc, sizeof esc, (const uint8_t *)device, strlen(device));
	snprintf(buf, size, "%s%s", w->device_prefix, esc);
	return buf;
}

/* HSET P:device:<id> proto transport peer last_seen online 1 [fields]. */
static void
device_hset(struct writer *w, struct args *a, char *key, const char *device,
    const char *proto, const char *transport, const char *peer,
    const char *recv, const struct report_fields *f)
{
	bool alarm = false;

	a->n = 0;
	arg_s(a, "HSET");
	arg_s(a, device_key(w, device, key, 256));
	arg_s(a, "proto");
	arg_s(a, proto);
	arg_s(a, "transport");
	arg_s(a, transport);
	arg_s(a, "peer");
	arg_s(a, peer);
	arg_s(a, "last_seen");
	arg_s(a, recv);
	arg_s(a, "online");
	arg_s(a, "1");
	if (f == NULL)
		return;
	for (int i = 0; i < f->n; i++) {
		const char *k = f->f[i].key;

		if (strcmp(k, "device") == 0 || strcmp(k, "proto") == 0)
			continue;
		if (strcmp(k, "alarm") == 0)
			alarm = true;
		arg_s(a, k);
		arg(a, f->f[i].val, f->f[i].len);
	}
	if (!alarm) {
		arg_s(a, "alarm");
		arg_s(a, "");
	}
}

/* ---- Frames ---- */

static void
count_frame(struct writer *w, const char *result)
{
	if (w->frames != NULL)
		metric_label_add(w->frames, result, 1);
}

/* Rate limit for reject lines; says how many were left out. */
static bool
log_allowed(struct writer *w)
{
	int64_t now = clock_mono_ms() / 1000;

	if (now != w->log_second) {
		if (w->log_skipped > 0)
			log_warn("%llu more rejects not logged (see %s)",
			    (unsigned long long)w->log_skipped, w->rejects_key);
		w->log_second = now;
		w->log_count = 0;
		w->log_skipped = 0;
	}
	if (w->log_count >= REJECT_LOGS_PER_S) {
		w->log_skipped++;
		return false;
	}
	w->log_count++;
	return true;
}

void
writer_reject(struct writer *w, const char *transport, const char *peer,
    const char *reason, const uint8_t *raw, size_t len)
{
	struct args a = { w, 0 };
	char why[256], logged[160];
	char *cmds[1];
	size_t lens[1], shown;
	int n = 0;


	escape_bytes(why, sizeof why, (const uint8_t *)reason, strlen(reason));
	escape_bytes(w->raw, WRITER_REJECT_RAW + 1, raw, len);
	shown = escape_bytes(logged, sizeof logged, raw, len);
	if (log_allowed(w))
		log_warn("reject %s %s: %s: %s%s (%zu bytes)", transport, peer,
		    why, logged, shown < len ? "..." : "", len);
	if (w->rejects != NULL) {
		/* The reason up to its first ':' keeps the label set small. */
		char label[64];
		size_t k = strcspn(why, ":(");

		if (k >= sizeof label)
			k = sizeof label - 1;
		memcpy(label, why, k);
		while (k > 0 && label[k - 1] == ' ')
			k--;
		label[k] = '\0';
		metric_label_add(w->rejects, label, 1);
	}
	arg_s(&a, "XADD");
	arg_s(&a, w->rejects_key);
	arg_s(&a, "MAXLEN");
	arg_s(&a, "~");
	arg_s(&a, "100000");
	arg_s(&a, "*");
	arg_s(&a, "peer");
	arg_s(&a, peer);
	arg_s(&a, "transport");
	arg_s(&a, transport);
	arg_s(&a, "reason");
	arg_s(&a, why);
	arg_s(&a, "raw");
	arg_s(&a, w->raw);
	encode(&a, cmds, lens, &n);
	if (n > 0)
		outbox_push(w->ob, OUTBOX_REJECT, cmds, lens, n);
}

static void
write_report(struct writer *w, const struct session_frame *f,
    const char *transport, const char *peer, const char *recv)
{
	const struct report *r = f->report;
	struct args a = { w, 0 };
	char key[256];
	char *cmds[2];
	size_t lens[2];
	int n = 0;

	if (report_format(r, &w->fields) == -1)
		log_warn("%s %s: report from %s did not fit; some fields cut",
		    transport, peer, r->device);
	escape_bytes(w->raw, sizeof w->raw, f->raw, f->len);
	arg_s(&a, "XADD");
	arg_s(&a, w->positions_key);
	arg_s(&a, "MAXLEN");
	arg_s(&a, "~");
	arg_s(&a, w->maxlen);
	arg_s(&a, "*");
	for (int i = 0; i < w->fields.n; i++) {
		arg_s(&a, w->fields.f[i].key);
		arg(&a, w->fields.f[i].val, w->fields.f[i].len);
	}
	arg_s(&a, "raw");
	arg_s(&a, w->raw);
	arg_s(&a, "recv");
	arg_s(&a, recv);
	arg_s(&a, "transport");
	arg_s(&a, transport);
	arg_s(&a, "peer");
	arg_s(&a, peer);
	encode(&a, cmds, lens, &n);
	if (r->device[0] != '\0') {
		device_hset(w, &a, key, r->device, report_proto_name(r->proto),
		    transport, peer, recv, &w->fields);
		encode(&a, cmds, lens, &n);
	}
	if (n > 0)
		outbox_push(w->ob, OUTBOX_REPORT, cmds, lens, n);
	if (w->reports != NULL)
		metric_add(w->reports, 1);
	if (log_enabled(LOG_DEBUG)) {
		char logged[160];

		escape_bytes(logged, sizeof logged, f->raw, f->len);
		log_debug("%s %s: report from %s: %s", transport, peer,
		    r->device, logged);
	}
}

void
writer_frame(struct writer *w, const struct session_frame *f,
    const char *transport, const char *peer, int64_t recv_ms)
{
	char recv[24];

	snprintf(recv, sizeof recv, "%" PRId64, recv_ms);
	if (f->result == REPORT_ERROR) {
		count_frame(w, "reject");
		writer_reject(w, transport, peer, f->error != NULL ? f->error :
		    "rejected", f->raw, f->len);
		return;
	}
	if (f->result == REPORT_OK && f->report != NULL) {
		count_frame(w, "report");
		write_report(w, f, transport, peer, recv);
		return;
	}
	count_frame(w, "other");
	if (f->device != NULL && f->device[0] != '\0') {
		struct args a = { w, 0 };
		char key[256];
		char *cmds[1];
		size_t lens[1];
		int n = 0;

		device_hset(w, &a, key, f->device, session_proto_name(f->proto),
		    transport, peer, recv, NULL);
		encode(&a, cmds, lens, &n);
		if (n > 0)
			outbox_push(w->ob, OUTBOX_DEVICE, cmds, lens, n);
	}
	if (log_enabled(LOG_DEBUG)) {
		char logged[160];

		escape_bytes(logged, sizeof logged, f->raw, f->len);
		log_debug("%s %s: %s frame from %s: %s", transport, peer,
		    session_proto_name(f->proto), f->device != NULL &&
		    f->device[0] != '\0' ? f->device : "?", logged);
	}
}

void
writer_offline(struct writer *w, const char *device)
{
	struct args a = { w, 0 };
	char key[256];
	char *cmds[1];
	size_t lens[1];
	int n = 0;

	if (device == NULL || device[0] == '\0')
		return;
	arg_s(&a, "HSET");
	arg_s(&a, device_key(w, device, key, sizeof key));
	arg_s(&a, "online");
	arg_s(&a, "0");
	encode(&a, cmds, lens, &n);
	if (n > 0)
		outbox_push(w->ob, OUTBOX_DEVICE, cmds, lens, n);
}

void
writer_result(struct writer *w, const struct writer_result *r)
{
	struct args a = { w, 0 };
	char maxlen[24];
	char *cmds[1];
	size_t lens[1];
	int n = 0;

	snprintf(maxlen, sizeof maxlen, "%d", WRITER_RESULTS_MAXLEN);
	escape_bytes(w->raw, sizeof w->raw, r->raw != NULL ? r->raw :
	    (const uint8_t *)"", r->raw != NULL ? r->rawlen : 0);
	arg_s(&a, "XADD");
	arg_s(&a, w->results_key);
	arg_s(&a, "MAXLEN");
	arg_s(&a, "~");
	arg_s(&a, maxlen);
	arg_s(&a, "*");
	arg_s(&a, "device");
	arg_s(&a, r->device);
	arg_s(&a, "command");
	arg_s(&a, r->command);
	arg_s(&a, "status");
	arg_s(&a, r->status);
	arg_s(&a, "raw");
	arg_s(&a, w->raw);
	arg_s(&a, "id");
	arg_s(&a, r->id);
	if (r->reason != NULL) {
		arg_s(&a, "reason");
		arg_s(&a, r->reason);
	}
	if (r->transport != NULL && r->peer != NULL) {
		arg_s(&a, "transport");
		arg_s(&a, r->transport);
		arg_s(&a, "peer");
		arg_s(&a, r->peer);
	}
	if (r->ingest != NULL) {
		arg_s(&a, "ingest");
		arg_s(&a, r->ingest);
	}
	encode(&a, cmds, lens, &n);
	if (n > 0)
		outbox_push(w->ob, OUTBOX_DEVICE, cmds, lens, n);
}
