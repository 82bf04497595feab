/* Unit tests: query-string decoding, bearer tokens, content types. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

Test(http_query, finds_and_decodes_values)
{
	char out[64];

	cr_assert_eq(http_query_get("a=1&date=2024-07-03&b=2", "date", out, sizeof(out)), 10);
	cr_assert_str_eq(out, "2024-07-03");
	cr_assert_eq(http_query_get("x=a%20b+c", "x", out, sizeof(out)), 5);
	cr_assert_str_eq(out, "a b c");
	cr_assert_eq(http_query_get("date", "date", out, sizeof(out)), 0);
}

Test(http_query, absent_and_prefix_keys)
{
	char out[64];

	cr_assert_eq(http_query_get("", "date", out, sizeof(out)), -1);
	cr_assert_eq(http_query_get("dates=1", "date", out, sizeof(out)), -1);
	cr_assert_eq(http_query_get("xdate=1", "date", out, sizeof(out)), -1);
}

Test(http_query, rejects_bad_escapes_nul_and_overflow)
{
	char out[8];

	cr_assert_eq(http_query_get("a=%zz", "a", out, sizeof(out)), -2);
	cr_assert_eq(http_query_get("a=%2", "a", out, sizeof(out)), -2);
	cr_assert_eq(http_query_get("a=%00", "a", out, sizeof(out)), -2);
	cr_assert_eq(http_query_get("a=123456789", "a", out, sizeof(out)), -2);
}

/* Found by tests/fuzz (fuzz_query): with outlen 0 an empty value ("a=")
 * still wrote its terminating NUL, one byte past the caller's buffer. */
Test(http_query, zero_length_buffer_is_never_written)
{
	char out[2] = { 'x', 'y' };

	cr_assert_eq(http_query_get("a=", "a", out, 0), -2);
	cr_assert_eq(http_query_get("a", "a", out, 0), -2);
	cr_assert_eq(http_query_get("a=1", "a", out, 0), -2);
	cr_assert_eq(out[0], 'x');
	cr_assert_eq(http_query_get("a=", "a", out, 1), 0);
	cr_assert_eq(out[0], '\0');
}

Test(http_bearer, extracts_the_token)
{
	cr_assert_str_eq(http_bearer("Bearer abc"), "abc");
	cr_assert_str_eq(http_bearer("bearer   abc"), "abc");
	cr_assert_null(http_bearer("Basic abc"));
	cr_assert_null(http_bearer("Bearer "));
	cr_assert_null(http_bearer(""));
}

Test(http_content_type, json_only)
{
	cr_assert(http_is_json("application/json"));
	cr_assert(http_is_json("application/json; charset=utf-8"));
	cr_assert(http_is_json("Application/JSON"));
	cr_assert_not(http_is_json("application/jsonx"));
	cr_assert_not(http_is_json("text/plain"));
	cr_assert_not(http_is_json(""));
}

Test(http_method, parses_names)
{
	cr_assert_eq(http_method_parse("GET"), HTTP_GET);
	cr_assert_eq(http_method_parse("DELETE"), HTTP_DELETE);
	cr_assert_eq(http_method_parse("get"), HTTP_OTHER);
	cr_assert_eq(http_method_parse("BREW"), HTTP_OTHER);
}

Test(http_error, builds_the_envelope)
{
	struct http_resp w;
	json_object *e, *v;

	memset(&w, 0, sizeof(w));
	http_error(&w, 409, "SEAT_UNAVAILABLE", "seat %d taken", 7);
	http_error_detail(&w, "field", json_object_new_string("seatNumber"));
	cr_assert_eq(w.status, 409);
	cr_assert(json_object_object_get_ex(w.body, "error", &e));
	cr_assert(json_object_object_get_ex(e, "code", &v));
	cr_assert_str_eq(json_object_get_string(v), "SEAT_UNAVAILABLE");
	cr_assert(json_object_object_get_ex(e, "message", &v));
	cr_assert_str_eq(json_object_get_string(v), "seat 7 taken");
	cr_assert(json_object_object_get_ex(e, "field", &v));
	http_resp_clear(&w);
}

Test(http_status, texts)
{
	cr_assert_str_eq(http_status_text(402), "402 Payment Required");
	cr_assert_str_eq(http_status_text(415), "415 Unsupported Media Type");
	cr_assert_str_eq(http_status_text(201), "201 Created");
}

/* One table of method names: parsing a name gives back its method. */
Test(http_method, names_round_trip)
{
	int m;

	for (m = 0; m < HTTP_OTHER; m++)
		cr_assert_eq(http_method_parse(http_method_name(m)), m, "%s",
		    http_method_name(m));
	cr_assert_str_eq(http_method_name(HTTP_OTHER), "OTHER");
	cr_assert_eq(http_method_parse("OTHER"), HTTP_OTHER);
	cr_assert_str_eq(http_method_name(HTTP__MAX), "OTHER");
	cr_assert_str_eq(http_method_name((enum http_method)-1), "OTHER");
}

/* One table of statuses: each row's line starts with its own code,
 * codes ascend (no duplicates), and unknown codes fall back. */
Test(http_status, table_is_consistent)
{
	char code[8];
	int i;

	for (i = 0; i < HTTP_NSTATUS; i++) {
		snprintf(code, sizeof(code), "%d ", http_statuses[i].code);
		cr_assert_eq(strncmp(http_statuses[i].line, code, 4), 0, "%s",
		    http_statuses[i].line);
		cr_assert_eq(http_status_index(http_statuses[i].code), i);
		cr_assert_str_eq(http_status_text(http_statuses[i].code),
		    http_statuses[i].line);
		if (i > 0)
			cr_assert_gt(http_statuses[i].code,
			    http_statuses[i - 1].code);
	}
	cr_assert_eq(http_status_index(418), -1);
	cr_assert_str_eq(http_status_text(299), "200 OK");
	cr_assert_str_eq(http_status_text(418), "500 Internal Server Error");
}
