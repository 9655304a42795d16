/*
 * writer.c: session frames to Redis commands, queued in the outbox.
 *
 * Key names embed the device id escaped (escape.h), so a hostile id can
 * neither split a key nor smuggle bytes into one.  The device hash keeps
 * the last report's fields; `alarm` is written as "" when the report has
 * none, so an old alarm does not stay on the device forever.
 *
 * Batching.  What the frames of one event-loop pass yield is gathered in
 * a batch and handed to the outbox at the end of the pass (or when the
 * batch is full): each entry's own command (the XADD of a position, a
 * reject or a command result) is RESP-encoded at once into one buffer.
 *
 * Device hashes.  The updates of a device's hash are merged, field by
 * field, the later value winning, which leaves the hash as consecutive
 * HSETs would (the records: devhash.h).  The merged HSET travels with the batch's last entry that
 * touched the device; and a device whose hash was written less than
 * device_ms ago waits until then, its updates merging meanwhile (a timer
 * hands them over).  So a device reporting several times in one read, or
 * ten times a second, costs Redis one HSET per device_ms at most, while a
 * device reporting less often than that (as trackers do, every 10 to 60 s)
 * is written at once, every time.  The hash of a busy device thus lags its
 * last position by about device_ms (the timer spreads hashes that come due
 * together over its next runs, see TICKS_PER_INTERVAL).  Only positions
 * wait: a login, a heartbeat or going offline is written at once (with
 * whatever waited).  Entries keep their order; the outbox acknowledges
 * each once Redis has answered all its commands.
 */
#include "ingest/writer.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/devhash.h"
#include "ingest/outbox.h"
#include "ingest/report.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/resp.h"
#include "lib/xmalloc.h"

/* Escaped raw frame: every byte may become 4. */
#define RAW_ESC_MAX (4 * 8192 + 1)
/* Reject log lines per second at most; a flood of junk datagrams must not
 * flood the log.  The ones left out are counted in the next line. */
#define REJECT_LOGS_PER_S 20
/* Entries per batch at most: a pass that yields more is handed over in
 * several batches, which bounds the batch's memory (a few MiB). */
#define BATCH_MAX 4096
/*
 * The device timer runs this many times per device_ms, and hands over at
 * most twice its share of the devices known (ndevs / TICKS_PER_INTERVAL)
 * per run, TICK_MIN_WRITES at least.  Both spread the hashes' HSETs over
 * time: the reports queued behind a burst of them on the connection wait
 * until Redis has run them all (2,000 devices' hashes at once held
 * positions back 10 ms), and devices that came due together (a fleet
 * logging in at once) come due together again unless a run leaves some
 * for the next.
 */
#define TICKS_PER_INTERVAL 100
#define TICK_MIN_WRITES 32

#define BULK_LIT(b, lit) resp_bulk((b), (lit), sizeof(lit) - 1)

/* One entry of the batch: its own command in w->cmds, and maybe the
 * merged HSET of a device. */
struct pending {
	uint8_t kind;		/* enum outbox_kind */
	uint8_t n;		/* own commands: 0 or 1 */
	size_t off, len;	/* where they lie in w->cmds */
	struct devhash_dev *dev;	/* device touched, or NULL */
};

struct writer {
	struct outbox *ob;
	struct event *flush_ev;	/* NULL: the owner calls writer_flush */
	struct event *tick_ev;	/* hands over device updates that waited;
				 * armed while devices are known */
	struct timeval tick_tv;
	int device_ms;
	char *positions_key;
	char *rejects_key;
	char *results_key;
	char maxlen[24];

	struct metric *frames;		/* by result */
	struct metric *rejects;		/* by reason */
	struct metric *reports;

	int64_t log_second;		/* second of the reject lines counted */
	int log_count;			/* reject lines logged in log_second */
	uint64_t log_skipped;		/* reject lines not logged since */

	/* The batch. */
	struct resp *cmds;		/* entries' own commands */
	struct resp *hset;		/* one merged HSET at a time, at flush */
	struct pending *pend;
	int npend;

	/* The devices whose hashes are merged (devhash.h). */
	struct devhash devs;

	/* Scratch, kept here rather than on the stack (about 40 KiB). */
	struct report_fields fields;
	char raw[RAW_ESC_MAX];
};

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	writer_flush(arg);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	writer_tick(arg);
}

struct writer *
writer_new(struct outbox *ob, struct event_base *base, const char *prefix,
    int64_t stream_maxlen, int device_ms, struct metrics *m)
{
	struct writer *w = xcalloc(1, sizeof *w);

	w->ob = ob;
	w->device_ms = device_ms > 0 ? device_ms : 0;
	if (base != NULL) {
		w->flush_ev = event_new(base, -1, 0, on_flush, w);
		if (w->device_ms > 0) {
			int ms = w->device_ms / TICKS_PER_INTERVAL + 1;

			w->tick_tv.tv_sec = ms / 1000;
			w->tick_tv.tv_usec = (ms % 1000) * 1000;
			w->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, w);
		}
	}
	w->positions_key = xasprintf("%s:positions", prefix);
	w->rejects_key = xasprintf("%s:rejects", prefix);
	{
		char *dp = xasprintf("%s:device:", prefix);

		devhash_init(&w->devs, dp);
		free(dp);
	}
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
	w->cmds = resp_new(1 << 16);
	w->hset = resp_new(4096);
	w->pend = xcalloc(BATCH_MAX, sizeof *w->pend);
	return w;
}

/* ---- Devices ---- */

/* The device of id (devhash_get); the timer is armed while devices are
 * known, so an idle ingest does not wake up for nothing. */
static struct devhash_dev *
dev_get(struct writer *w, const char *id)
{
	bool created;
	struct devhash_dev *d = devhash_get(&w->devs, id, &created);

	if (created && w->tick_ev != NULL &&
	    !event_pending(w->tick_ev, EV_TIMEOUT, NULL))
		event_add(w->tick_ev, &w->tick_tv);
	return d;
}

/* ---- The batch ---- */

/* Starts an entry; its own command, if any, is appended to w->cmds next. */
static struct pending *
entry_begin(struct writer *w, enum outbox_kind kind)
{
	struct pending *p;

	if (w->npend == BATCH_MAX)
		writer_flush(w);
	if (w->npend == 0 && w->flush_ev != NULL)
		event_active(w->flush_ev, EV_TIMEOUT, 0);
	p = &w->pend[w->npend++];
	p->kind = (uint8_t)kind;
	p->n = 0;
	p->off = resp_len(w->cmds);
	p->len = 0;
	p->dev = NULL;
	return p;
}

/* Ends the entry's own command started at p->off. */
static void
entry_command_done(struct writer *w, struct pending *p)
{
	p->n = 1;
	p->len = resp_len(w->cmds) - p->off;
}

/*
 * Makes entry p the one to carry d's HSET (the last entry touching d
 * wins); returns how many fields were waiting before, for dev_set.
 */
static int
entry_touch(struct writer *w, struct pending *p, struct devhash_dev *d)
{
	p->dev = d;
	d->owner = (int)(p - w->pend);
	return d->n;
}

/*
 * Merges `HSET P:device:<id> proto transport peer last_seen online 1
 * [fields]` into the device's waiting fields, carried by entry p.
 */
static void
device_hset(struct writer *w, struct pending *p, const char *device,
    const char *proto, const char *transport, const char *peer,
    const char *recv, const struct report_fields *f)
{
	struct devhash_dev *d = dev_get(w, device);
	int old = entry_touch(w, p, d), at = 0;
	bool alarm = false;

	devhash_set_s(d, old, &at, "proto", proto);
	devhash_set_s(d, old, &at, "transport", transport);
	devhash_set_s(d, old, &at, "peer", peer);
	devhash_set_s(d, old, &at, "last_seen", recv);
	devhash_set_s(d, old, &at, "online", "1");
	if (f == NULL) {
		/* A login or heartbeat is rare: no reason to wait. */
		d->urgent = true;
		return;
	}
	for (int i = 0; i < f->n; i++) {
		const char *k = f->f[i].key;

		/* device and proto are the stream's, not the hash's. */
		if ((k[0] == 'd' && strcmp(k, "device") == 0) ||
		    (k[0] == 'p' && strcmp(k, "proto") == 0))
			continue;
		if (k[0] == 'a' && strcmp(k, "alarm") == 0)
			alarm = true;
		devhash_set(d, old, &at, k, strlen(k), f->f[i].val, f->f[i].len);
	}
	if (!alarm)
		devhash_set_s(d, old, &at, "alarm", "");
}

/* Hands the batch over; force: device updates waiting go too. */
static void
flush(struct writer *w, bool force)
{
	const char *base = resp_data(w->cmds);
	int64_t now = w->npend > 0 && w->device_ms > 0 ? clock_mono_ms() : 0;

	for (int i = 0; i < w->npend; i++) {
		const struct pending *p = &w->pend[i];
		struct devhash_dev *d = p->dev;
		struct outbox_cmd c[2];
		int n = 0;

		if (p->n > 0) {
			c[n].buf = base + p->off;
			c[n++].len = p->len;
		}
		if (d != NULL && d->owner == i) {
			d->owner = -1;
			if (force || d->urgent || !d->written ||
			    now - d->written_ms >= w->device_ms) {
				resp_clear(w->hset);
				devhash_encode(d, w->hset);
				c[n].buf = resp_data(w->hset);
				c[n++].len = resp_len(w->hset);
				devhash_written(&w->devs, d, now);
			}
		}
		if (n > 0)
			outbox_push(w->ob, (enum outbox_kind)p->kind, c, n);
		/* Without a wait there is nothing to remember.  (Only then
		 * does a flush forget devices, so the device loops below
		 * may flush as they go.) */
		if (d != NULL && d->owner == -1 && d->n == 0 && w->device_ms == 0)
			devhash_forget(&w->devs, d);
	}
	w->npend = 0;
	resp_clear(w->cmds);
	outbox_flush(w->ob);
}

void
writer_flush(struct writer *w)
{
	flush(w, false);
}

void
writer_tick(struct writer *w)
{
	int64_t now = clock_mono_ms();
	size_t cap = 2 * w->devs.ndevs / TICKS_PER_INTERVAL, n = 0;
	struct devhash_dev *d, *next;

	if (cap < TICK_MIN_WRITES)
		cap = TICK_MIN_WRITES;
	flush(w, false);
	/* Oldest write first: the devices due are at the front.  (A flush
	 * on the way moves the ones it writes to the back, after `next`.) */
	for (d = w->devs.first; d != NULL && n < cap; d = next) {
		next = d->next;
		if (d->written && now - d->written_ms < w->device_ms)
			break;
		if (d->n > 0) {
			entry_touch(w, entry_begin(w, OUTBOX_DEVICE), d);
			n++;
		} else
			devhash_forget(&w->devs, d);
	}
	if (w->devs.first == NULL && w->tick_ev != NULL)
		event_del(w->tick_ev);
	flush(w, false);
}

void
writer_drain(struct writer *w)
{
	struct devhash_dev *d;

	for (d = w->devs.first; d != NULL; d = d->next) {
		if (d->n > 0 && d->owner == -1)
			entry_touch(w, entry_begin(w, OUTBOX_DEVICE), d);
	}
	flush(w, true);
	while (w->devs.first != NULL)
		devhash_forget(&w->devs, w->devs.first);
}

size_t
writer_pending(const struct writer *w)
{
	return (size_t)w->npend;
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	writer_drain(w);
	if (w->flush_ev != NULL)
		event_free(w->flush_ev);
	if (w->tick_ev != NULL)
		event_free(w->tick_ev);
	free(w->positions_key);
	free(w->rejects_key);
	free(w->results_key);
	resp_free(w->cmds);
	resp_free(w->hset);
	free(w->pend);
	devhash_free(&w->devs);
	free(w);
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
	char why[256], logged[160];
	struct pending *p;
	size_t shown;

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
	p = entry_begin(w, OUTBOX_REJECT);
	resp_array(w->cmds, 14);
	BULK_LIT(w->cmds, "XADD");
	resp_bulk_str(w->cmds, w->rejects_key);
	BULK_LIT(w->cmds, "MAXLEN");
	BULK_LIT(w->cmds, "~");
	resp_bulk_int(w->cmds, WRITER_REJECTS_MAXLEN);
	BULK_LIT(w->cmds, "*");
	BULK_LIT(w->cmds, "peer");
	resp_bulk_str(w->cmds, peer);
	BULK_LIT(w->cmds, "transport");
	resp_bulk_str(w->cmds, transport);
	BULK_LIT(w->cmds, "reason");
	resp_bulk_str(w->cmds, why);
	BULK_LIT(w->cmds, "raw");
	resp_bulk_str(w->cmds, w->raw);
	entry_command_done(w, p);
}

static void
write_report(struct writer *w, const struct session_frame *f,
    const char *transport, const char *peer, const char *recv)
{
	const struct report *r = f->report;
	struct resp *b = w->cmds;
	struct pending *p;

	if (report_format(r, &w->fields) == -1)
		log_warn("%s %s: report from %s did not fit; some fields cut",
		    transport, peer, r->device);
	escape_bytes(w->raw, sizeof w->raw, f->raw, f->len);
	p = entry_begin(w, OUTBOX_REPORT);
	/* XADD key MAXLEN ~ N *, the fields, raw recv transport peer. */
	resp_array(b, 6 + 2 * (size_t)w->fields.n + 8);
	BULK_LIT(b, "XADD");
	resp_bulk_str(b, w->positions_key);
	BULK_LIT(b, "MAXLEN");
	BULK_LIT(b, "~");
	resp_bulk_str(b, w->maxlen);
	BULK_LIT(b, "*");
	for (int i = 0; i < w->fields.n; i++) {
		resp_bulk_str(b, w->fields.f[i].key);
		resp_bulk(b, w->fields.f[i].val, w->fields.f[i].len);
	}
	BULK_LIT(b, "raw");
	resp_bulk_str(b, w->raw);
	BULK_LIT(b, "recv");
	resp_bulk_str(b, recv);
	BULK_LIT(b, "transport");
	resp_bulk_str(b, transport);
	BULK_LIT(b, "peer");
	resp_bulk_str(b, peer);
	entry_command_done(w, p);
	if (r->device[0] != '\0')
		device_hset(w, p, r->device, report_proto_name(r->proto),
		    transport, peer, recv, &w->fields);
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
	char recv[RESP_INT_MAX + 1];

	recv[resp_int(recv, recv_ms)] = '\0';
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
	if (f->device != NULL && f->device[0] != '\0')
		device_hset(w, entry_begin(w, OUTBOX_DEVICE), f->device,
		    session_proto_name(f->proto), transport, peer, recv, NULL);
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
	struct pending *p;
	struct devhash_dev *d;
	int at;

	if (device == NULL || device[0] == '\0')
		return;
	/* The entry first: starting one may hand the batch over. */
	p = entry_begin(w, OUTBOX_DEVICE);
	d = dev_get(w, device);
	at = 0;
	devhash_set_s(d, entry_touch(w, p, d), &at, "online", "0");
	d->urgent = true;
}

void
writer_result(struct writer *w, const struct writer_result *r)
{
	struct resp *b = w->cmds;
	struct pending *p;
	size_t argc = 16;

	escape_bytes(w->raw, sizeof w->raw, r->raw != NULL ? r->raw :
	    (const uint8_t *)"", r->raw != NULL ? r->rawlen : 0);
	if (r->reason != NULL)
		argc += 2;
	if (r->transport != NULL && r->peer != NULL)
		argc += 4;
	if (r->ingest != NULL)
		argc += 2;
	p = entry_begin(w, OUTBOX_DEVICE);
	resp_array(b, argc);
	BULK_LIT(b, "XADD");
	resp_bulk_str(b, w->results_key);
	BULK_LIT(b, "MAXLEN");
	BULK_LIT(b, "~");
	resp_bulk_int(b, WRITER_RESULTS_MAXLEN);
	BULK_LIT(b, "*");
	BULK_LIT(b, "device");
	resp_bulk_str(b, r->device);
	BULK_LIT(b, "command");
	resp_bulk_str(b, r->command);
	BULK_LIT(b, "status");
	resp_bulk_str(b, r->status);
	BULK_LIT(b, "raw");
	resp_bulk_str(b, w->raw);
	BULK_LIT(b, "id");
	resp_bulk_str(b, r->id);
	if (r->reason != NULL) {
		BULK_LIT(b, "reason");
		resp_bulk_str(b, r->reason);
	}
	if (r->transport != NULL && r->peer != NULL) {
		BULK_LIT(b, "transport");
		resp_bulk_str(b, r->transport);
		BULK_LIT(b, "peer");
		resp_bulk_str(b, r->peer);
	}
	if (r->ingest != NULL) {
		BULK_LIT(b, "ingest");
		resp_bulk_str(b, r->ingest);
	}
	entry_command_done(w, p);
}
