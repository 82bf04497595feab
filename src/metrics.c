/*
 * metrics: see metrics.h.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_bucket_bounds[METRICS_NBUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};

/* The same bounds in microseconds: bucketing compares integers, so a
 * duration exactly on a bound always lands in that bound's bucket. */
static const int64_t metrics_bounds_us[METRICS_NBUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000
};

int
metrics_status_index(int status)
{
	int i = http_status_index(status);

	return i >= 0 ? i : METRICS_STATUS_OTHER;
}

int
metrics_status_code(int idx)
{
	if (idx < 0 || idx >= HTTP_NSTATUS)
		return 0;
	return http_statuses[idx].code;
}

int
metrics_bucket_index(int64_t duration_us)
{
	int lo = 0, hi = METRICS_NBUCKETS;

	/* First bound >= duration. */
	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (metrics_bounds_us[mid] >= duration_us)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void
metrics_observe(struct metrics_route *r, int status, int64_t duration_us)
{
	if (duration_us < 0)
		duration_us = 0;
	__atomic_fetch_add(&r->status[metrics_status_index(status)], 1,
	    __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->bucket[metrics_bucket_index(duration_us)], 1,
	    __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->sum_us, (uint64_t)duration_us, __ATOMIC_RELAXED);
}

void
metrics_buf_free(struct metrics_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
metrics_reserve(struct metrics_buf *b, size_t more)
{
	size_t ncap;
	char *p;

	if (b->failed)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	if ((p = realloc(b->p, ncap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = ncap;
	return 0;
}

void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (metrics_reserve(b, 256) == -1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (metrics_reserve(b, (size_t)n) == -1)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
metrics_label_value(struct metrics_buf *b, const char *s)
{
	if (metrics_reserve(b, 2 * strlen(s)) == -1)
		return;
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\\':
			b->p[b->len++] = '\\';
			b->p[b->len++] = '\\';
			break;
		case '"':
			b->p[b->len++] = '\\';
			b->p[b->len++] = '"';
			break;
		case '\n':
			b->p[b->len++] = '\\';
			b->p[b->len++] = 'n';
			break;
		default:
			b->p[b->len++] = *s;
			break;
		}
	}
	b->p[b->len] = '\0';
}

void
metrics_header(struct metrics_buf *b, const char *name, const char *type,
    const char *help)
{
	metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static uint64_t
metrics_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void
metrics_render_routes(struct metrics_buf *b,
    const struct metrics_route *routes, const char *const *names, size_t n)
{
	size_t i;
	int j;

	metrics_header(b, "concert_http_requests_total", "counter",
	    "Requests answered, by route and HTTP status.");
	for (i = 0; i < n; i++) {
		for (j = 0; j < METRICS_NSTATUS; j++) {
			uint64_t v = metrics_load(&routes[i].status[j]);
			int code = metrics_status_code(j);

			if (v == 0)
				continue;
			metrics_printf(b, "concert_http_requests_total{route=\"");
			metrics_label_value(b, names[i]);
			if (code != 0)
				metrics_printf(b, "\",status=\"%d\"} %llu\n", code,
				    (unsigned long long)v);
			else
				metrics_printf(b, "\",status=\"other\"} %llu\n",
				    (unsigned long long)v);
		}
	}

	metrics_header(b, "concert_http_request_duration_seconds", "histogram",
	    "Time from accept to the end of the response, by route.");
	for (i = 0; i < n; i++) {
		uint64_t bk[METRICS_NBUCKETS + 1], cum = 0, sum_us;

		/* Snapshot the buckets first: _count is their sum. */
		for (j = 0; j <= METRICS_NBUCKETS; j++) {
			bk[j] = metrics_load(&routes[i].bucket[j]);
			cum += bk[j];
		}
		if (cum == 0)
			continue;
		sum_us = metrics_load(&routes[i].sum_us);
		cum = 0;
		for (j = 0; j <= METRICS_NBUCKETS; j++) {
			cum += bk[j];
			metrics_printf(b, "concert_http_request_duration_seconds_"
			    "bucket{route=\"");
			metrics_label_value(b, names[i]);
			if (j < METRICS_NBUCKETS)
				metrics_printf(b, "\",le=\"%g\"} %llu\n",
				    metrics_bucket_bounds[j],
				    (unsigned long long)cum);
			else
				metrics_printf(b, "\",le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
		}
		metrics_printf(b, "concert_http_request_duration_seconds_sum"
		    "{route=\"");
		metrics_label_value(b, names[i]);
		metrics_printf(b, "\"} %llu.%06llu\n",
		    (unsigned long long)(sum_us / 1000000),
		    (unsigned long long)(sum_us % 1000000));
		metrics_printf(b, "concert_http_request_duration_seconds_count"
		    "{route=\"");
		metrics_label_value(b, names[i]);
		metrics_printf(b, "\"} %llu\n", (unsigned long long)cum);
	}
}
