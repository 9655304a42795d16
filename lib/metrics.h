/*
 * metrics.h: a small registry of counters, gauges, labelled counters and
 * latency histograms, served over HTTP in Prometheus text format.
 *
 * Metrics are registered once at start-up and updated from the event loop
 * (no locking: one thread).  metrics_serve binds an evhttp server answering
 * GET /metrics and GET /healthz.  Names should carry the binary's prefix
 * ("geoalarm_ingest_…"); metrics.c adds nothing to them.
 */
#ifndef GA_LIB_METRICS_H
#define GA_LIB_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evbuffer;
struct metrics;
struct metric;

/* Distinct label values kept per labelled counter; later ones count under
 * "other" (label values may come from device input). */
#define METRICS_MAX_LABELS 32

/* Reads a gauge's value when it is rendered. */
typedef double metrics_read_fn(void *arg);

/*
 * Says whether the process is healthy; writes a short reason (shown by
 * /healthz) into why.  Returns true when healthy.
 */
typedef bool metrics_health_fn(void *arg, char *why, size_t whylen);

/* Creates an empty registry; free with metrics_free. */
struct metrics *metrics_new(void);

/* Stops serving and frees every metric; metrics_free(NULL) does nothing. */
void metrics_free(struct metrics *m);

/*
 * Registration.  name and help are copied.  Each returns the metric,
 * owned by m and valid until metrics_free.
 */
struct metric *metrics_counter(struct metrics *m, const char *name,
    const char *help);
struct metric *metrics_gauge(struct metrics *m, const char *name,
    const char *help);
/* A gauge whose value is read from fn(arg) at each scrape. */
struct metric *metrics_gauge_fn(struct metrics *m, const char *name,
    const char *help, metrics_read_fn *fn, void *arg);
/* A counter whose value is read from fn(arg) (kept elsewhere). */
struct metric *metrics_counter_fn(struct metrics *m, const char *name,
    const char *help, metrics_read_fn *fn, void *arg);
/* A counter family with one label (name `label`, values added on use). */
struct metric *metrics_labelled(struct metrics *m, const char *name,
    const char *help, const char *label);
/*
 * A histogram with nbounds increasing upper bounds (in the unit of the
 * observations, seconds for latency); +Inf is added.
 */
struct metric *metrics_histogram(struct metrics *m, const char *name,
    const char *help, const double *bounds, int nbounds);

/* Updates.  Each accepts a NULL metric and then does nothing, so code
 * that runs without a registry need not check. */

/* Adds v to a counter or gauge. */
void metric_add(struct metric *c, double v);
/* Sets a gauge. */
void metric_set(struct metric *g, double v);
/* Adds v to the counter of a labelled family for label value `value`. */
void metric_label_add(struct metric *f, const char *value, double v);
/* Records one observation in a histogram. */
void metric_observe(struct metric *h, double v);
/* Current value of a counter or gauge (tests, logs). */
double metric_value(const struct metric *c);
/* Current value of one label of a family (0 when never seen). */
double metric_label_value(const struct metric *f, const char *value);

/* Appends every metric in Prometheus text format (0.0.4) to out. */
void metrics_render(struct metrics *m, struct evbuffer *out);

/* Sets the check behind /healthz (default: always healthy). */
void metrics_set_health(struct metrics *m, metrics_health_fn *fn, void *arg);

/*
 * Starts serving on host:port in base.  Returns 0, or -1 with a reason
 * in err (address in use, bad host).
 */
int metrics_serve(struct metrics *m, struct event_base *base, const char *host,
    int port, char *err, size_t errlen);

/*
 * metrics_serve on the address of a --metrics flag, "HOST:PORT" (checked
 * already by the flag table).  Returns 0, or -1 with a reason in err.
 */
int metrics_serve_addr(struct metrics *m, struct event_base *base,
    const char *hostport, char *err, size_t errlen);

#endif
