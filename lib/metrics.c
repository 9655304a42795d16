/*
 * metrics.c: the metric registry, its Prometheus rendering and the evhttp
 * server for /metrics and /healthz.
 */
#include "lib/metrics.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "lib/conf.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

enum metric_kind {
	M_COUNTER, M_COUNTER_FN, M_GAUGE, M_GAUGE_FN, M_LABELLED, M_HISTOGRAM
};

struct metric_label {
	char *value;
	double count;
};

struct metric {
	enum metric_kind kind;
	char *name;
	char *help;
	double value;
	metrics_read_fn *fn;
	void *fn_arg;
	/* labelled */
	char *label;
	int nlabels;
	struct metric_label labels[METRICS_MAX_LABELS + 1];	/* + "other" */
	/* histogram */
	int nbounds;
	double *bounds;
	unsigned long long *buckets;	/* per bound, not cumulative; + Inf */
	unsigned long long count;
	double sum;
	struct metric *next;
};

struct metrics {
	struct metric *head, *tail;
	metrics_health_fn *health;
	void *health_arg;
	struct evhttp *http;
};

struct metrics *
metrics_new(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	struct metric *x, *next;

	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);
	for (x = m->head; x != NULL; x = next) {
		next = x->next;
		for (int i = 0; i < x->nlabels; i++)
			free(x->labels[i].value);
		free(x->name);
		free(x->help);
		free(x->label);
		free(x->bounds);
		free(x->buckets);
		free(x);
	}
	free(m);
}

static struct metric *
add(struct metrics *m, enum metric_kind kind, const char *name, const char *help)
{
	struct metric *x = xcalloc(1, sizeof *x);

	x->kind = kind;
	x->name = xstrdup(name);
	x->help = xstrdup(help);
	if (m->tail != NULL)
		m->tail->next = x;
	else
		m->head = x;
	m->tail = x;
	return x;
}

struct metric *
metrics_counter(struct metrics *m, const char *name, const char *help)
{
	return add(m, M_COUNTER, name, help);
}

struct metric *
metrics_gauge(struct metrics *m, const char *name, const char *help)
{
	return add(m, M_GAUGE, name, help);
}

struct metric *
metrics_gauge_fn(struct metrics *m, const char *name, const char *help,
    metrics_read_fn *fn, void *arg)
{
	struct metric *x = add(m, M_GAUGE_FN, name, help);

	x->fn = fn;
	x->fn_arg = arg;
	return x;
}

struct metric *
metrics_counter_fn(struct metrics *m, const char *name, const char *help,
    metrics_read_fn *fn, void *arg)
{
	struct metric *x = add(m, M_COUNTER_FN, name, help);

	x->fn = fn;
	x->fn_arg = arg;
	return x;
}

struct metric *
metrics_labelled(struct metrics *m, const char *name, const char *help,
    const char *label)
{
	struct metric *x = add(m, M_LABELLED, name, help);

	x->label = xstrdup(label);
	return x;
}

struct metric *
metrics_histogram(struct metrics *m, const char *name, const char *help,
    const double *bounds, int nbounds)
{
	struct metric *x = add(m, M_HISTOGRAM, name, help);

	x->nbounds = nbounds;
	x->bounds = xmemdup(bounds, (size_t)nbounds * sizeof *bounds);
	x->buckets = xcalloc((size_t)nbounds + 1, sizeof *x->buckets);
	return x;
}

void
metric_add(struct metric *c, double v)
{
	if (c != NULL)
		c->value += v;
}

void
metric_set(struct metric *g, double v)
{
	if (g != NULL)
		g->value = v;
}

double
metric_value(const struct metric *c)
{
	if (c == NULL)
		return 0;
	if (c->kind == M_GAUGE_FN || c->kind == M_COUNTER_FN)
		return c->fn(c->fn_arg);
	return c->value;
}

static struct metric_label *
find_label(const struct metric *f, const char *value)
{
	for (int i = 0; i < f->nlabels; i++) {
		if (strcmp(f->labels[i].value, value) == 0)
			return (struct metric_label *)&f->labels[i];
	}
	return NULL;
}

void
metric_label_add(struct metric *f, const char *value, double v)
{
	struct metric_label *l;

	if (f == NULL)
		return;
	l = find_label(f, value);
	if (l == NULL && f->nlabels < METRICS_MAX_LABELS) {
		l = &f->labels[f->nlabels++];
		l->value = xstrdup(value);
	} else if (l == NULL) {
		if ((l = find_label(f, "other")) == NULL) {
			l = &f->labels[f->nlabels++];
			l->value = xstrdup("other");
		}
	}
	l->count += v;
}

double
metric_label_value(const struct metric *f, const char *value)
{
	const struct metric_label *l = f != NULL ? find_label(f, value) : NULL;

	return l != NULL ? l->count : 0;
}

void
metric_observe(struct metric *h, double v)
{
	int i;

	if (h == NULL)
		return;
	for (i = 0; i < h->nbounds && v > h->bounds[i]; i++)
		;
	h->buckets[i]++;
	h->count++;
	h->sum += v;
}

/* ---- Rendering ---- */

static void
put_num(struct evbuffer *out, double v)
{
	if (isinf(v))
		evbuffer_add_printf(out, v > 0 ? "+Inf" : "-Inf");
	else if (isnan(v))
		evbuffer_add_printf(out, "NaN");
	else if (v == floor(v) && fabs(v) < 1e15)
		evbuffer_add_printf(out, "%.0f", v);
	else {
		/* The shortest form that reads back as the same double. */
		char buf[32];

		snprintf(buf, sizeof buf, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof buf, "%.17g", v);
		evbuffer_add(out, buf, strlen(buf));
	}
}

/* Label values escape backslash, double quote and newline. */
static void
put_label_value(struct evbuffer *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(out, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

/* HELP text escapes backslash and newline. */
static void
put_help(struct evbuffer *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

static const char *
type_name(enum metric_kind k)
{
	switch (k) {
	case M_COUNTER:
	case M_COUNTER_FN:
	case M_LABELLED:
		return "counter";
	case M_GAUGE:
	case M_GAUGE_FN:
		return "gauge";
	case M_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

void
metrics_render(struct metrics *m, struct evbuffer *out)
{
	for (struct metric *x = m->head; x != NULL; x = x->next) {
		unsigned long long cum = 0;

		evbuffer_add_printf(out, "# HELP %s ", x->name);
		put_help(out, x->help);
		evbuffer_add_printf(out, "\n# TYPE %s %s\n", x->name,
		    type_name(x->kind));
		switch (x->kind) {
		case M_COUNTER:
		case M_COUNTER_FN:
		case M_GAUGE:
		case M_GAUGE_FN:
			evbuffer_add_printf(out, "%s ", x->name);
			put_num(out, metric_value(x));
			evbuffer_add(out, "\n", 1);
			break;
		case M_LABELLED:
			for (int i = 0; i < x->nlabels; i++) {
				evbuffer_add_printf(out, "%s{%s=\"", x->name, x->label);
				put_label_value(out, x->labels[i].value);
				evbuffer_add(out, "\"} ", 3);
				put_num(out, x->labels[i].count);
				evbuffer_add(out, "\n", 1);
			}
			break;
		case M_HISTOGRAM:
			for (int i = 0; i <= x->nbounds; i++) {
				cum += x->buckets[i];
				evbuffer_add_printf(out, "%s_bucket{le=\"", x->name);
				put_num(out, i < x->nbounds ? x->bounds[i] : INFINITY);
				evbuffer_add_printf(out, "\"} %llu\n", cum);
			}
			evbuffer_add_printf(out, "%s_sum ", x->name);
			put_num(out, x->sum);
			evbuffer_add_printf(out, "\n%s_count %llu\n", x->name, x->count);
			break;
		}
	}
}

/* ---- HTTP ---- */

void
metrics_set_health(struct metrics *m, metrics_health_fn *fn, void *arg)
{
	m->health = fn;
	m->health_arg = arg;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	char why[128] = "ok";
	bool ok = true;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	if (path == NULL)
		path = "";
	if (strcmp(path, "/metrics") == 0) {
		evhttp_add_header(hdr, "Content-Type",
		    "text/plain; version=0.0.4; charset=utf-8");
		metrics_render(m, out);
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/healthz") == 0) {
		if (m->health != NULL)
			ok = m->health(m->health_arg, why, sizeof why);
		evhttp_add_header(hdr, "Content-Type", "text/plain");
		evbuffer_add_printf(out, "%s\n", why);
		evhttp_send_reply(req, ok ? 200 : 503, ok ? "OK" :
		    "Service Unavailable", NULL);
	} else
		evhttp_send_error(req, 404, "not found");
}

int
metrics_serve(struct metrics *m, struct event_base *base, const char *host,
    int port, char *err, size_t errlen)
{
	struct evhttp *http = evhttp_new(base);
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;

	if (http == NULL) {
		snprintf(err, errlen, "cannot create the HTTP server");
		return -1;
	}
	if ((bs = evhttp_bind_socket_with_handle(http, host,
	    (unsigned short)port)) == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port,
		    strerror(errno));
		evhttp_free(http);
		return -1;
	}
	/* Scrapes are small; a slow or stuck client is cut off. */
	evhttp_set_timeout(http, 10);
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 1024);
	evhttp_set_gencb(http, on_request, m);
	if (m->http != NULL)
		evhttp_free(m->http);
	m->http = http;
	/* Port 0 picks a free port: log the one we got. */
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sslen) == 0)
		port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	log_info("metrics: serving http://%s:%d/metrics", host, port);
	return 0;
}

int
metrics_serve_addr(struct metrics *m, struct event_base *base,
    const char *hostport, char *err, size_t errlen)
{
	struct conf_hostport hp;

	if (conf_parse_hostport(hostport, &hp, err, errlen) == -1)
		return -1;
	return metrics_serve(m, base, hp.host, hp.port, err, errlen);
}
