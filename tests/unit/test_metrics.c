/*
 * Unit tests: histogram bucketing, the Prometheus text rendering of the
 * per-route counters, and the access log's JSON line.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog.h"
#include "metrics.h"

struct bucket_case {
	long long us;
	int idx;
};

ParameterizedTestParameters(metrics_bucket, index_is_first_bound_at_or_above)
{
	static struct bucket_case cases[] = {
		{ 0, 0 }, { 1, 0 }, { 1000, 0 },        /* le="0.001" holds 1 ms */
		{ 1001, 1 }, { 2500, 1 }, { 2501, 2 },
		{ 9999, 3 }, { 10000, 3 }, { 10001, 4 },
		{ 999999, 9 }, { 1000000, 9 }, { 1000001, 10 },
		{ 5000000, 11 }, { 5000001, 12 },       /* above 5 s: +Inf only */
		{ 3600000000LL, 12 },
	};

	return cr_make_param_array(struct bucket_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bucket_case *c, metrics_bucket,
    index_is_first_bound_at_or_above)
{
	cr_assert_eq(metrics_bucket_index(c->us), c->idx, "%lld us -> %d, want %d",
	    c->us, metrics_bucket_index(c->us), c->idx);
}

Test(metrics_bucket, bounds_ascend_from_1ms_to_5s)
{
	int i;

	cr_assert_float_eq(metrics_bucket_bounds[0], 0.001, 1e-12);
	cr_assert_float_eq(metrics_bucket_bounds[METRICS_NBUCKETS - 1], 5.0,
	    1e-12);
	for (i = 1; i < METRICS_NBUCKETS; i++)
		cr_assert_gt(metrics_bucket_bounds[i], metrics_bucket_bounds[i - 1]);
}

Test(metrics_status, known_statuses_and_other)
{
	cr_assert_eq(metrics_status_code(metrics_status_index(200)), 200);
	cr_assert_eq(metrics_status_code(metrics_status_index(503)), 503);
	cr_assert_eq(metrics_status_index(418), METRICS_STATUS_OTHER);
	cr_assert_eq(metrics_status_code(METRICS_STATUS_OTHER), 0);
	cr_assert_eq(metrics_status_code(-1), 0);
}

/* One table per fact: the statuses counted are exactly those http.c has
 * a status line for, each under its own index. */
Test(metrics_status, counts_every_status_http_sends)
{
	int i;

	cr_assert_eq(METRICS_NSTATUS, HTTP_NSTATUS + 1);
	for (i = 0; i < HTTP_NSTATUS; i++) {
		cr_assert_eq(metrics_status_index(http_statuses[i].code), i);
		cr_assert_eq(metrics_status_code(i), http_statuses[i].code);
	}
}

Test(metrics_render, other_status_is_labelled_other)
{
	struct metrics_route r;
	const char *names[] = { "ping" };
	struct metrics_buf b = { 0 };

	memset(&r, 0, sizeof(r));
	metrics_observe(&r, 418, 10);
	metrics_observe(&r, 201, 10);
	metrics_render_routes(&b, &r, names, 1);
	cr_assert_not(b.failed);
	cr_assert(strstr(b.p, "concert_http_requests_total{route=\"ping\","
	    "status=\"201\"} 1\n") != NULL, "%s", b.p);
	cr_assert(strstr(b.p, "concert_http_requests_total{route=\"ping\","
	    "status=\"other\"} 1\n") != NULL, "%s", b.p);
	metrics_buf_free(&b);
}

Test(metrics_observe, counts_status_bucket_and_sum)
{
	struct metrics_route r;

	memset(&r, 0, sizeof(r));
	metrics_observe(&r, 200, 1500);
	metrics_observe(&r, 200, 7000000);
	metrics_observe(&r, 404, -5);     /* clock oddity: counted as 0 */
	cr_assert_eq(r.status[metrics_status_index(200)], 2);
	cr_assert_eq(r.status[metrics_status_index(404)], 1);
	cr_assert_eq(r.bucket[1], 1);
	cr_assert_eq(r.bucket[METRICS_NBUCKETS], 1);
	cr_assert_eq(r.bucket[0], 1);
	cr_assert_eq(r.sum_us, 7001500);
}

/* Render two routes, one of them idle, and return the text (malloc'd). */
static char *
render_sample(void)
{
	static const char *const names[] = { "ping", "hold", "odd\"name\\\n" };
	struct metrics_route r[3];
	struct metrics_buf b = { 0 };
	char *out;

	memset(r, 0, sizeof(r));
	metrics_observe(&r[0], 200, 400);       /* 0.0004 s */
	metrics_observe(&r[0], 200, 3000);      /* 0.003 s */
	metrics_observe(&r[0], 503, 6000000);   /* 6 s */
	metrics_observe(&r[2], 200, 1000);
	metrics_render_routes(&b, r, names, 3);
	cr_assert_not(b.failed);
	cr_assert_eq(strlen(b.p), b.len);
	out = strdup(b.p);
	metrics_buf_free(&b);
	return out;
}

Test(metrics_render, counters_only_for_statuses_seen)
{
	char *t = render_sample();

	cr_assert(strstr(t, "# TYPE concert_http_requests_total counter\n"));
	cr_assert(strstr(t, "concert_http_requests_total{route=\"ping\","
	    "status=\"200\"} 2\n"), "%s", t);
	cr_assert(strstr(t, "concert_http_requests_total{route=\"ping\","
	    "status=\"503\"} 1\n"));
	cr_assert_null(strstr(t, "status=\"404\""));
	cr_assert_null(strstr(t, "route=\"hold\""), "idle route rendered");
	free(t);
}

Test(metrics_render, histogram_is_cumulative_and_ends_with_inf_equal_count)
{
	char *t = render_sample();

	cr_assert(strstr(t, "# TYPE concert_http_request_duration_seconds "
	    "histogram\n"));
	cr_assert(strstr(t, "_bucket{route=\"ping\",le=\"0.001\"} 1\n"), "%s", t);
	cr_assert(strstr(t, "_bucket{route=\"ping\",le=\"0.0025\"} 1\n"));
	cr_assert(strstr(t, "_bucket{route=\"ping\",le=\"0.005\"} 2\n"));
	cr_assert(strstr(t, "_bucket{route=\"ping\",le=\"5\"} 2\n"));
	cr_assert(strstr(t, "_bucket{route=\"ping\",le=\"+Inf\"} 3\n"));
	cr_assert(strstr(t, "concert_http_request_duration_seconds_count"
	    "{route=\"ping\"} 3\n"));
	cr_assert(strstr(t, "concert_http_request_duration_seconds_sum"
	    "{route=\"ping\"} 6.003400\n"));
	free(t);
}

Test(metrics_render, every_sample_line_is_name_labels_value)
{
	char *t = render_sample(), *line, *save = NULL;
	int samples = 0;

	for (line = strtok_r(t, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp;

		if (line[0] == '#') {
			cr_assert(strncmp(line, "# HELP ", 7) == 0 ||
			    strncmp(line, "# TYPE ", 7) == 0, "%s", line);
			continue;
		}
		sp = strrchr(line, ' ');
		cr_assert_not_null(sp, "%s", line);
		cr_assert(sp[-1] == '}', "%s", line);
		cr_assert(strncmp(line, "concert_http_request", 20) == 0, "%s",
		    line);
		cr_assert(strtod(sp + 1, NULL) >= 0);
		samples++;
	}
	/* ping: 2 statuses + 13 buckets + sum + count; odd: 1 + 13 + 2 */
	cr_assert_eq(samples, 2 + 15 + 1 + 15, "%d", samples);
	free(t);
}

Test(metrics_render, label_values_are_escaped)
{
	char *t = render_sample();

	cr_assert(strstr(t, "{route=\"odd\\\"name\\\\\\n\",status=\"200\"} 1\n"),
	    "%s", t);
	free(t);
}

Test(metrics_buf, grows_past_the_first_allocation)
{
	struct metrics_buf b = { 0 };
	int i;

	for (i = 0; i < 2000; i++)
		metrics_printf(&b, "line %d of a long text\n", i);
	cr_assert_not(b.failed);
	cr_assert_eq(strlen(b.p), b.len);
	cr_assert(strstr(b.p, "line 1999 of a long text\n"));
	metrics_buf_free(&b);
}

Test(accesslog, line_has_every_field_in_order)
{
	struct accesslog_entry e = {
		.time_ms = 1764244363784LL,   /* 2025-11-27T11:52:43.784Z */
		.request_id = "r-1", .method = "GET", .route = "ping",
		.status = 200, .duration_us = 1234, .worker = 42,
	};
	char buf[ACCESSLOG_LINE_MAX];
	size_t n = accesslog_format(buf, sizeof(buf), &e);

	cr_assert_str_eq(buf, "{\"time\":\"2025-11-27T11:52:43.784Z\","
	    "\"requestId\":\"r-1\",\"method\":\"GET\",\"route\":\"ping\","
	    "\"status\":200,\"durationMs\":1.234,\"worker\":42}\n");
	cr_assert_eq(n, strlen(buf));
}

Test(accesslog, strings_are_json_escaped)
{
	struct accesslog_entry e = {
		.time_ms = 0, .request_id = "a\"b\\c\nd\x01",
		.method = "GET", .route = "/x\xff\xc3\xa9",
		.status = 404, .duration_us = 5, .worker = 1,
	};
	char buf[ACCESSLOG_LINE_MAX];

	accesslog_format(buf, sizeof(buf), &e);
	cr_assert(strstr(buf, "\"requestId\":\"a\\\"b\\\\c\\u000ad\\u0001\""),
	    "%s", buf);
	/* invalid byte replaced, valid UTF-8 (e acute) kept */
	cr_assert(strstr(buf, "\"route\":\"/x\\ufffd\xc3\xa9\""), "%s", buf);
	cr_assert(strstr(buf, "\"durationMs\":0.005,"), "%s", buf);
}

Test(accesslog, long_fields_are_truncated_and_the_line_stays_whole)
{
	char big[5000], buf[ACCESSLOG_LINE_MAX];
	struct accesslog_entry e = {
		.time_ms = 0, .method = "POST", .status = 200,
		.duration_us = 1, .worker = 7,
	};
	size_t n;

	memset(big, '"', sizeof(big) - 1);    /* each escapes to 2 bytes */
	big[sizeof(big) - 1] = '\0';
	e.request_id = big;
	e.route = big;
	n = accesslog_format(buf, sizeof(buf), &e);
	cr_assert_lt(n, sizeof(buf));
	cr_assert_eq(buf[n - 1], '\n');
	cr_assert(strstr(buf, "\"worker\":7}\n"), "%s", buf);
	/* never a dangling backslash: escapes are kept whole */
	cr_assert_null(strstr(buf, "\\\","), "%s", buf);
}
