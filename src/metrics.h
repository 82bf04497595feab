/*
 * metrics: per-route request counters and latency histograms, and the
 * Prometheus text exposition format (version 0.0.4) they are served in.
 *
 * struct metrics_route lives in the shared scoreboard (scoreboard.h), one
 * per route, and every worker adds to it with metrics_observe(); that is
 * how counts are aggregated across workers without the master's help.
 * Everything else here is pure: rendering into a growing buffer, with no
 * I/O, so that tests/unit/test_metrics.c can check it byte for byte.
 */
#ifndef CONCERT_METRICS_H
#define CONCERT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* Upper bounds (seconds) of the latency histogram, ascending. */
#define METRICS_NBUCKETS 12
extern const double metrics_bucket_bounds[METRICS_NBUCKETS];

/* The statuses counted exactly are http.c's table (index i counts
 * http_statuses[i]); any other lands in METRICS_STATUS_OTHER. */
#define METRICS_NSTATUS (HTTP_NSTATUS + 1)
#define METRICS_STATUS_OTHER HTTP_NSTATUS

/*
 * Counters of one route.  bucket[] is NOT cumulative: each request adds
 * one to exactly one bucket (the last one is "above every bound"), so an
 * observation is a single atomic add and the rendered _count can be the sum
 * of the buckets, which keeps "+Inf == _count" true even when the counters
 * are read while workers are adding to them.
 */
struct metrics_route {
	uint64_t status[METRICS_NSTATUS];
	uint64_t bucket[METRICS_NBUCKETS + 1];
	uint64_t sum_us;              /* total duration, microseconds */
};

/* Index of status in http_statuses, or METRICS_STATUS_OTHER. */
int metrics_status_index(int status);

/* The status a status index counts (200), or 0 for the catch-all "other"
 * (and any index out of range). */
int metrics_status_code(int idx);

/* Index of the first bucket whose bound is >= duration (le semantics), or
 * METRICS_NBUCKETS when the duration exceeds every bound. */
int metrics_bucket_index(int64_t duration_us);

/* Count one request (atomic, relaxed: any worker may call it at any time).
 * A negative duration counts as 0. */
void metrics_observe(struct metrics_route *r, int status, int64_t duration_us);

/*
 * A growing text buffer.  After an allocation failure every append is a
 * no-op and failed stays set, so callers check once at the end.
 */
struct metrics_buf {
	char *p;
	size_t len, cap;
	int failed;
};

/* Release the buffer (it may be reused after). */
void metrics_buf_free(struct metrics_buf *b);

/* printf to the end of the buffer. */
void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append s as a Prometheus label value (backslash, quote and newline
 * escaped; the surrounding quotes are the caller's). */
void metrics_label_value(struct metrics_buf *b, const char *s);

/* "# HELP name help\n# TYPE name type\n". */
void metrics_header(struct metrics_buf *b, const char *name, const char *type,
    const char *help);

/*
 * The request metrics of n routes named names[i] (label route):
 *   concert_http_requests_total{route,status}          (nonzero only)
 *   concert_http_request_duration_seconds{route}       histogram (routes
 *                                                       that served one)
 * with their HELP/TYPE lines.  Values are read with relaxed atomic loads.
 */
void metrics_render_routes(struct metrics_buf *b,
    const struct metrics_route *routes, const char *const *names, size_t n);

#endif
