/*
 * Unit tests: the invariants of the route table (src/router.c) and what
 * router_find() answers.  The handlers are stubs: the table is data, and
 * linking the real handlers would drag the whole request pipeline in.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "router.h"
#include "scoreboard.h"

#define STUB(fn) int fn(struct api_ctx *c) { (void)c; return 0; }
STUB(api_ping) STUB(api_health) STUB(api_status) STUB(api_metrics)
STUB(api_token_issue) STUB(api_token_get) STUB(api_token_release)
STUB(api_concerts) STUB(api_dates) STUB(api_seats) STUB(api_seat_summary) STUB(api_hold) STUB(api_charge)
STUB(api_balance) STUB(api_pay)
STUB(api_res_get) STUB(api_res_list) STUB(api_res_release) STUB(api_res_cancel)
STUB(api_pay_list)

static const struct route *
find(enum http_method m, const char *path, int *status, char *allow,
    size_t len)
{
	*status = 0;
	return router_find(m, path, status, allow, len);
}

Test(router_table, no_two_rows_share_method_and_path)
{
	int i, j;

	for (i = 0; i < router_count; i++)
		for (j = i + 1; j < router_count; j++)
			cr_assert(router_table[i].method != router_table[j].method ||
			    strcmp(router_table[i].path, router_table[j].path) != 0,
			    "rows %d and %d: %s %s", i, j,
			    http_method_name(router_table[i].method),
			    router_table[i].path);
}

Test(router_table, every_row_is_complete)
{
	int i;

	cr_assert_gt(router_count, 0);
	for (i = 0; i < router_count; i++) {
		const struct route *rt = &router_table[i];

		cr_assert(rt->path != NULL && rt->path[0] == '/', "row %d", i);
		cr_assert_lt(strlen(rt->path), HTTP_MAX_PATH, "%s", rt->path);
		cr_assert(rt->fn != NULL, "%s: no handler", rt->path);
		cr_assert(rt->name != NULL && rt->name[0] != '\0', "%s: no name",
		    rt->path);
		/* HEAD is served by the GET route; OTHER is never routed. */
		cr_assert(rt->method != HTTP_HEAD && rt->method != HTTP_OTHER &&
		    rt->method < HTTP__MAX, "%s: method %d", rt->path, rt->method);
	}
}

Test(router_table, names_are_unique_and_not_reserved)
{
	int i, j;

	for (i = 0; i < router_count; i++) {
		cr_assert_str_neq(router_table[i].name, "unmatched");
		cr_assert_str_neq(router_table[i].name, "-");
		/* A Prometheus label value and a log token: no quoting needed. */
		cr_assert_eq(strspn(router_table[i].name,
		    "abcdefghijklmnopqrstuvwxyz_"), strlen(router_table[i].name),
		    "%s", router_table[i].name);
		cr_assert_lt(strlen(router_table[i].name), SCOREBOARD_NAME_LEN);
		for (j = i + 1; j < router_count; j++)
			cr_assert_str_neq(router_table[i].name, router_table[j].name);
	}
}

Test(router_table, params_are_known_keys_and_required_are_taken)
{
	unsigned known = PBIT(P__MAX) - 1;
	int i;

	for (i = 0; i < router_count; i++) {
		const struct route *rt = &router_table[i];

		cr_assert_eq(rt->want & ~known, 0, "%s: unknown parameter", rt->name);
		cr_assert_eq(rt->required & ~rt->want, 0,
		    "%s: requires a parameter it does not take", rt->name);
	}
}

/* Keys sharing a JSON name (the two amounts) never meet on one route. */
Test(router_table, no_route_takes_two_keys_of_one_name)
{
	int i, a, b;

	for (i = 0; i < router_count; i++)
		for (a = 0; a < P__MAX; a++)
			for (b = a + 1; b < P__MAX; b++)
				cr_assert(!((router_table[i].want & PBIT(a)) &&
				    (router_table[i].want & PBIT(b)) &&
				    strcmp(validate_params_table[a].name,
				    validate_params_table[b].name) == 0),
				    "%s takes '%s' twice", router_table[i].name,
				    validate_params_table[a].name);
}

Test(router_table, idempotent_routes_are_transactional_posts)
{
	int i;

	for (i = 0; i < router_count; i++) {
		const struct route *rt = &router_table[i];

		if (!(rt->flags & ROUTE_IDEMPOTENT))
			continue;
		cr_assert(rt->flags & ROUTE_TX, "%s", rt->name);
		cr_assert_eq(rt->method, HTTP_POST, "%s", rt->name);
	}
}

Test(router_table, fits_the_scoreboard)
{
	/* route indices and "unmatched" each have their counters */
	cr_assert_leq(router_count + 1, SCOREBOARD_ROUTES);
}

Test(router_find, finds_every_row_by_method_and_path)
{
	char allow[64];
	int i, status;

	for (i = 0; i < router_count; i++) {
		const struct route *rt = &router_table[i];

		cr_assert_eq(find(rt->method, rt->path, &status, allow,
		    sizeof(allow)), rt, "%s", rt->name);
	}
}

Test(router_find, head_is_served_by_get)
{
	char allow[64];
	int status;
	const struct route *rt = find(HTTP_HEAD, "/api/v1/ping", &status, allow,
	    sizeof(allow));

	cr_assert_not_null(rt);
	cr_assert_eq(rt->method, HTTP_GET);
	cr_assert_str_eq(rt->name, "ping");
}

Test(router_find, unknown_path_is_404)
{
	static const char *paths[] = { "/api/v1/nope", "/api/v1/ping/",
	    "/api/v1/PING", "/api/v1", "", "/metrics?x" };
	char allow[64];
	size_t i;
	int status;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cr_assert_null(find(HTTP_GET, paths[i], &status, allow,
		    sizeof(allow)), "%s", paths[i]);
		cr_assert_eq(status, 404, "%s", paths[i]);
	}
}

/* A known path with another method: 405, and Allow lists exactly the
 * methods of that path's rows, in table order. */
Test(router_find, known_path_other_method_is_405_with_allow)
{
	char allow[64], want[64];
	int i, j, status;

	for (i = 0; i < router_count; i++) {
		const char *path = router_table[i].path;
		size_t n = 0;

		want[0] = '\0';
		for (j = 0; j < router_count; j++)
			if (strcmp(router_table[j].path, path) == 0)
				n += (size_t)snprintf(want + n, sizeof(want) - n,
				    "%s%s", n ? ", " : "",
				    http_method_name(router_table[j].method));
		cr_assert_null(find(HTTP_PUT, path, &status, allow,
		    sizeof(allow)), "%s", path);
		cr_assert_eq(status, 405, "%s", path);
		cr_assert_str_eq(allow, want, "%s", path);
		cr_assert_null(find(HTTP_OTHER, path, &status, allow,
		    sizeof(allow)), "%s", path);
		cr_assert_eq(status, 405, "%s", path);
	}
	cr_assert_null(find(HTTP_PATCH, "/api/v1/token", &status, allow,
	    sizeof(allow)));
	cr_assert_str_eq(allow, "POST, GET, DELETE");
}

Test(router_find, allow_never_overflows_a_small_buffer)
{
	char allow[8];
	int status;

	memset(allow, 'x', sizeof(allow));
	cr_assert_null(find(HTTP_PUT, "/api/v1/token", &status, allow,
	    sizeof(allow)));
	cr_assert_eq(status, 405);
	cr_assert_lt(strlen(allow), sizeof(allow));
	cr_assert_str_eq(allow, "POST, G");
}

Test(router_name, names_every_index)
{
	int i;

	for (i = 0; i < router_count; i++)
		cr_assert_str_eq(router_name(i), router_table[i].name);
	cr_assert_str_eq(router_name(router_count), "unmatched");
	cr_assert_str_eq(router_name(-1), "-");
	cr_assert_str_eq(router_name(router_count + 1), "-");
}

/* A credential travels in a URL (logs, history, Referer) only where a
 * client cannot send it otherwise: GET /token, polled by EventSource. */
Test(router_table, only_token_polling_takes_credentials_in_the_query)
{
	int i;

	for (i = 0; i < router_count; i++) {
		const struct route *rt = &router_table[i];

		cr_assert_eq((rt->flags & ROUTE_QUERY_CREDENTIALS) != 0,
		    strcmp(rt->name, "token_get") == 0, "%s", rt->name);
	}
}

/* --- route patterns ("{name}" segments) --- */

#define RID "123e4567-e89b-12d3-a456-426614174000"

static const struct route *
match(enum http_method m, const char *path, char *name, char *value,
    int *status)
{
	char allow[64];

	*status = 0;
	return router_match(m, path, name, 32, value, HTTP_MAX_PATH, status,
	    allow, sizeof(allow));
}

Test(router_match, a_pattern_captures_its_segment)
{
	char name[32], value[HTTP_MAX_PATH];
	const struct route *rt;
	int status;

	rt = match(HTTP_GET, "/api/v1/reservations/" RID, name, value, &status);
	cr_assert_not_null(rt);
	cr_assert_str_eq(rt->name, "reservation_get");
	cr_assert_str_eq(name, "reservationId");
	cr_assert_str_eq(value, RID);
	rt = match(HTTP_POST, "/api/v1/reservations/" RID "/cancel", name, value,
	    &status);
	cr_assert_not_null(rt);
	cr_assert_str_eq(rt->name, "reservation_cancel");
	cr_assert_str_eq(value, RID);
	/* any text: the validation row decides whether it is an id */
	rt = match(HTTP_DELETE, "/api/v1/reservations/x", name, value, &status);
	cr_assert_not_null(rt);
	cr_assert_str_eq(rt->name, "reservation_release");
	cr_assert_str_eq(value, "x");
}

Test(router_match, an_exact_route_captures_nothing)
{
	char name[32] = "junk", value[HTTP_MAX_PATH] = "junk";
	const struct route *rt;
	int status;

	rt = match(HTTP_POST, "/api/v1/reservations", name, value, &status);
	cr_assert_not_null(rt);
	cr_assert_str_eq(rt->name, "hold");
	cr_assert_str_eq(name, "");
	cr_assert_str_eq(value, "");
}

/* /reservations/dates is the dates route for every method: never a
 * reservation id (DELETE there is 405 with the dates route's Allow). */
Test(router_match, an_exact_path_wins_over_a_pattern)
{
	char name[32], value[HTTP_MAX_PATH], allow[64];
	const struct route *rt;
	int status;

	rt = match(HTTP_GET, "/api/v1/reservations/dates", name, value, &status);
	cr_assert_not_null(rt);
	cr_assert_str_eq(rt->name, "dates");
	cr_assert_null(router_match(HTTP_DELETE, "/api/v1/reservations/dates",
	    name, sizeof(name), value, sizeof(value), &status, allow,
	    sizeof(allow)));
	cr_assert_eq(status, 405);
	cr_assert_str_eq(allow, "GET");
}

Test(router_match, a_segment_is_never_empty_nor_spans_a_slash)
{
	char name[32], value[HTTP_MAX_PATH];
	int status;

	cr_assert_null(match(HTTP_GET, "/api/v1/reservations/", name, value,
	    &status));
	cr_assert_eq(status, 404);
	cr_assert_null(match(HTTP_GET, "/api/v1/reservations/a/b", name, value,
	    &status));
	cr_assert_eq(status, 404);
	cr_assert_null(match(HTTP_POST, "/api/v1/reservations/" RID "/cancel/",
	    name, value, &status));
	cr_assert_eq(status, 404);
	cr_assert_null(match(HTTP_POST, "/api/v1/reservations//cancel", name,
	    value, &status));
	cr_assert_eq(status, 404);
}

Test(router_match, pattern_path_other_method_is_405_with_allow)
{
	char name[32], value[HTTP_MAX_PATH], allow[64];
	int status;

	cr_assert_null(router_match(HTTP_PUT, "/api/v1/reservations/" RID, name,
	    sizeof(name), value, sizeof(value), &status, allow, sizeof(allow)));
	cr_assert_eq(status, 405);
	cr_assert_str_eq(allow, "GET, DELETE");
	cr_assert_null(router_match(HTTP_GET, "/api/v1/reservations/" RID
	    "/cancel", name, sizeof(name), value, sizeof(value), &status, allow,
	    sizeof(allow)));
	cr_assert_eq(status, 405);
	cr_assert_str_eq(allow, "POST");
}

Test(router_match, a_long_segment_is_cut_to_the_buffer)
{
	char name[32], value[8], allow[64];
	int status;

	cr_assert_not_null(router_match(HTTP_GET,
	    "/api/v1/reservations/0123456789abcdef", name, sizeof(name), value,
	    sizeof(value), &status, allow, sizeof(allow)));
	cr_assert_str_eq(value, "0123456");
}

/* Every pattern row has exactly one well-formed "{name}" segment, named
 * after a PSRC_PATH row it takes. */
Test(router_table, every_pattern_names_a_path_parameter_it_takes)
{
	int i, k;

	for (i = 0; i < router_count; i++) {
		const struct route *rt = &router_table[i];
		const char *open, *close;
		int found = 0;

		if (!router_is_pattern(rt->path))
			continue;
		open = strchr(rt->path, '{');
		close = strchr(open, '}');
		cr_assert_not_null(close, "%s", rt->path);
		cr_assert_null(strchr(close, '{'), "%s: two segments", rt->path);
		cr_assert_eq(open[-1], '/', "%s", rt->path);
		cr_assert(close[1] == '\0' || close[1] == '/', "%s", rt->path);
		for (k = 0; k < P__MAX; k++)
			if ((rt->want & PBIT(k)) &&
			    validate_params_table[k].sources == PSRC_PATH &&
			    strlen(validate_params_table[k].name) ==
			    (size_t)(close - open - 1) &&
			    strncmp(validate_params_table[k].name, open + 1,
			    (size_t)(close - open - 1)) == 0)
				found = 1;
		cr_assert(found, "%s: no path row of that name", rt->path);
	}
}
