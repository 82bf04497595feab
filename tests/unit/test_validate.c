/* Unit tests: the declarative parameter table (validate_body/params):
 * each row's sources, check, bounds and answers. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "validate.h"

static struct http_req r;
static struct http_resp w;
/* The configured bounds: amounts of a payment and of a charge. */
static const struct config cfg = { .max_balance = 100,
    .max_charge_amount = 50 };

static void
setup(void)
{
	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	r.query = "";
	r.content_type = "application/json";
	r.authorization = "";
	r.method = HTTP_POST;
	r.method_name = "POST";
}

static void
teardown(void)
{
	/* Reset r.json: Criterion runs both the suite's and the test's .fini
	 * for a ParameterizedTest that names its own (found by valgrind:
	 * json_object_put twice on the same object). */
	if (r.json)
		json_object_put(r.json);
	r.json = NULL;
	http_resp_clear(&w);
}

static void
body(const char *s)
{
	snprintf(r.body, sizeof(r.body), "%s", s);
	r.body_len = strlen(s);
}

static const char *
err_code(void)
{
	json_object *e, *c;

	if (!w.body || !json_object_object_get_ex(w.body, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &c))
		return "";
	return json_object_get_string(c);
}

TestSuite(validate, .init = setup, .fini = teardown);

Test(validate, post_needs_json_content_type)
{
	body("{}");
	r.content_type = "text/plain";
	cr_assert_eq(validate_body(&r, &w), -1);
	cr_assert_eq(w.status, 415);
}

Test(validate, post_needs_a_body)
{
	cr_assert_eq(validate_body(&r, &w), -1);
	cr_assert_eq(w.status, 400);
	cr_assert_str_eq(err_code(), "INVALID_JSON");
}

struct bad_json { char body[96]; };  /* by value: params cross into a new process */

ParameterizedTestParameters(validate, rejects_bad_json)
{
	static struct bad_json bad[] = {
		{ "{" }, { "[1,2]" }, { "\"x\"" }, { "{\"a\":1} x" },
		{ "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}" }, { "nul" }, { "{\"a\":NaN}" }, { "{\"a\":[1,-Infinity]}" },
	};
	return cr_make_param_array(struct bad_json, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_json *b, validate, rejects_bad_json, .init = setup, .fini = teardown)
{
	body(b->body);
	cr_assert_eq(validate_body(&r, &w), -1, "accepted %s", b->body);
	cr_assert_eq(w.status, 400);
}

Test(validate, get_accepts_a_json_body_too)
{
	struct params p;

	r.method = HTTP_GET;
	r.content_type = "";
	body("{\"date\":\"2024-07-03\"}");
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_DATE), PBIT(P_DATE), 0, &cfg, &p, &w), 0);
	cr_assert_str_eq(p.v[P_DATE].s, "2024-07-03");
}

Test(validate, query_string_parameters)
{
	struct params p;

	r.method = HTTP_GET;
	r.query = "userId=123e4567-e89b-12d3-a456-426614174000";
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_USER_ID), PBIT(P_USER_ID), 0, &cfg, &p, &w), 0);
	cr_assert(p.v[P_USER_ID].present);
	cr_assert_str_eq(p.v[P_USER_ID].s, "123e4567-e89b-12d3-a456-426614174000");
}

Test(validate, missing_required_field_names_it)
{
	struct params p;
	json_object *e, *f;

	body("{}");
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_USER_ID), PBIT(P_USER_ID), 0, &cfg, &p, &w), -1);
	cr_assert_eq(w.status, 400);
	cr_assert_str_eq(err_code(), "MISSING_FIELD");
	cr_assert(json_object_object_get_ex(w.body, "error", &e));
	cr_assert(json_object_object_get_ex(e, "field", &f));
	cr_assert_str_eq(json_object_get_string(f), "userId");
}

struct bad_param { char body[256]; int status; char code[32]; };

ParameterizedTestParameters(validate, rejects_bad_values)
{
	static struct bad_param bad[] = {
		{ "{\"seatNumber\":\"1\",\"date\":\"2024-07-03\",\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 400, "VALIDATION_ERROR" },
		{ "{\"seatNumber\":1.5,\"date\":\"2024-07-03\",\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 400, "VALIDATION_ERROR" },
		{ "{\"seatNumber\":0,\"date\":\"2024-07-03\",\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 400, "VALIDATION_ERROR" },
		{ "{\"seatNumber\":true,\"date\":\"2024-07-03\",\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 400, "VALIDATION_ERROR" },
		{ "{\"seatNumber\":1,\"date\":\"2024-02-30\",\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 400, "VALIDATION_ERROR" },
		{ "{\"seatNumber\":1,\"date\":20240703,\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 400, "VALIDATION_ERROR" },
		{ "{\"seatNumber\":1,\"date\":\"2024-07-03\",\"amount\":0,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 422, "INVALID_AMOUNT" },
		{ "{\"seatNumber\":1,\"date\":\"2024-07-03\",\"amount\":-5,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 422, "INVALID_AMOUNT" },
		{ "{\"seatNumber\":1,\"date\":\"2024-07-03\",\"amount\":101,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 422, "INVALID_AMOUNT" },
		{ "{\"seatNumber\":1,\"date\":\"2024-07-03\",\"amount\":99999999999999999999999,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 422, "INVALID_AMOUNT" },
		{ "{\"seatNumber\":1,\"date\":\"2024-07-03\",\"amount\":1,\"userId\":\"nope\",\"token\":\"00112233445566778899aabbccddeeff\"}", 400, "VALIDATION_ERROR" },
		{ "{\"seatNumber\":1,\"date\":\"2024-07-03\",\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"xyz\"}", 401, "TOKEN_INVALID" },
		{ "{\"seatNumber\":1,\"date\":\"2024-07-03\",\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\"}", 401, "TOKEN_REQUIRED" },
		{ "{\"date\":\"2024-07-03\",\"amount\":1,\"userId\":\"123e4567-e89b-12d3-a456-426614174000\",\"token\":\"00112233445566778899aabbccddeeff\"}", 400, "MISSING_FIELD" },
	};
	return cr_make_param_array(struct bad_param, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_param *b, validate, rejects_bad_values, .init = setup, .fini = teardown)
{
	struct params p;
	unsigned all = PBIT(P_SEAT_NUMBER) | PBIT(P_DATE) | PBIT(P_AMOUNT) |
	    PBIT(P_USER_ID) | PBIT(P_TOKEN);

	body(b->body);
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, all, all, 0, &cfg, &p, &w), -1, "accepted %s", b->body);
	cr_assert_eq(w.status, b->status, "%s: status %d", b->body, w.status);
	cr_assert_str_eq(err_code(), b->code, "%s", b->body);
}

Test(validate, token_from_bearer_header)
{
	struct params p;

	r.method = HTTP_GET;
	r.authorization = "Bearer 00112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0, &cfg, &p, &w), 0);
	cr_assert_eq(p.v[P_TOKEN].u[15], 0xff);
}

Test(validate, accepts_a_complete_hold)
{
	struct params p;
	unsigned all = PBIT(P_SEAT_NUMBER) | PBIT(P_DATE) | PBIT(P_TOKEN);

	body("{\"date\":\"2024-07-03\",\"seatNumber\":12,\"token\":\"00112233445566778899aabbccddeeff\",\"extra\":1}");
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, all, all, 0, &cfg, &p, &w), 0);
	cr_assert_eq(p.v[P_SEAT_NUMBER].i, 12);
}

/* Found by tests/fuzz: JSON allows "\u0000" inside a string; read as a C
 * string the value stopped there, so "2024-07-03\u0000junk" passed as a
 * date and a token or UUID could carry an arbitrary tail. */
Test(validate, rejects_strings_with_embedded_nul)
{
	static const struct { const char *body; unsigned k; int status; const char *code; } c[] = {
		{ "{\"date\":\"2024-07-03\\u0000junk\"}", P_DATE, 400, "VALIDATION_ERROR" },
		{ "{\"userId\":\"123e4567-e89b-12d3-a456-426614174000\\u0000\"}", P_USER_ID, 400, "VALIDATION_ERROR" },
		{ "{\"token\":\"00112233445566778899aabbccddeeff\\u0000x\"}", P_TOKEN, 401, "TOKEN_INVALID" },
	};
	struct params p;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		teardown();
		setup();
		body(c[i].body);
		cr_assert_eq(validate_body(&r, &w), 0, "%s", c[i].body);
		cr_assert_eq(validate_params(&r, PBIT(c[i].k), PBIT(c[i].k), 0, &cfg, &p, &w), -1,
		    "accepted %s", c[i].body);
		cr_assert_eq(w.status, c[i].status, "%s: status %d", c[i].body, w.status);
		cr_assert_str_eq(err_code(), c[i].code, "%s", c[i].body);
	}
}

static const char *
err_member(const char *name)
{
	json_object *e, *c;

	if (!w.body || !json_object_object_get_ex(w.body, "error", &e) ||
	    !json_object_object_get_ex(e, name, &c))
		return NULL;
	return json_object_get_string(c);
}

/* --- the rows themselves --- */

Test(validate_table, every_row_is_complete)
{
	int k;

	for (k = 0; k < P__MAX; k++) {
		const struct param_def *d = &validate_params_table[k];

		cr_assert(d->name != NULL && d->name[0] != '\0', "row %d", k);
		cr_assert(d->check != NULL, "%s: no check", d->name);
		cr_assert(d->reject != NULL, "%s: no reject", d->name);
		/* A path row takes nothing else (validate.h PSRC_PATH). */
		cr_assert(d->sources == PSRC_PATH || (d->sources & PSRC_BODY),
		    "%s: not from the body", d->name);
		cr_assert(d->maxlen > 0 && d->maxlen <= PARAM_MAXLEN, "%s", d->name);
		cr_assert((d->range_status == 0) == (d->range_code == NULL),
		    "%s: range status without code", d->name);
		if (d->json_int)
			cr_assert(d->max_of != NULL || d->min <= d->max, "%s",
			    d->name);
	}
	/* The PBIT masks of the router are unsigned. */
	cr_assert_leq(P__MAX, 32);
}

/*
 * Every row through every way in and out: a good value from the body and
 * from the query, a bad one, a missing one, one out of range (integer
 * rows), each answered as the row says.
 */
struct row_case {
	int key;
	char good_json[64];      /* JSON text of a good value */
	char good_query[64];     /* query value of the same */
	char bad_json[48];       /* JSON text of a refused value */
	int bad_status;
	char bad_code[24];
	char bad_message[64];
	char over_json[48];      /* out of range ("" for non-integers) */
	int over_status;
	char over_code[24];
	char over_message[64];
	int missing_status;
	char missing_code[24];
	int named;               /* errors carry "field" */
};

static struct row_case row_cases[] = {
	{ P_USER_ID, "\"123e4567-e89b-12d3-a456-426614174000\"",
	  "123e4567-e89b-12d3-a456-426614174000", "\"nope\"", 400,
	  "VALIDATION_ERROR", "'userId' must be a UUID", "", 0, "", "",
	  400, "MISSING_FIELD", 1 },
	{ P_DATE, "\"2024-07-03\"", "2024-07-03", "\"2024-02-30\"", 400,
	  "VALIDATION_ERROR", "'date' must be a calendar date YYYY-MM-DD",
	  "", 0, "", "", 400, "MISSING_FIELD", 1 },
	{ P_SEAT_NUMBER, "12", "12", "\"12\"", 400, "VALIDATION_ERROR",
	  "'seatNumber' must be an integer", "1000001", 400,
	  "VALIDATION_ERROR", "'seatNumber' must be between 1 and 1000000",
	  400, "MISSING_FIELD", 1 },
	{ P_TOKEN, "\"00112233445566778899aabbccddeeff\"",
	  "00112233445566778899aabbccddeeff", "\"xyz\"", 401,
	  "TOKEN_INVALID", "token is malformed (32 hex characters expected)",
	  "", 0, "", "", 401, "TOKEN_REQUIRED", 0 },
	{ P_AMOUNT, "100", "100", "1.5", 400, "VALIDATION_ERROR",
	  "'amount' must be an integer", "101", 422, "INVALID_AMOUNT",
	  "'amount' must be between 1 and 100", 400, "MISSING_FIELD", 1 },
	{ P_RESERVATION_ID, "\"123e4567-e89b-12d3-a456-426614174000\"",
	  "123E4567-E89B-12D3-A456-426614174000", "7", 400,
	  "VALIDATION_ERROR", "'reservationId' must be a string", "", 0,
	  "", "", 400, "MISSING_FIELD", 1 },
	{ P_CHARGE_AMOUNT, "50", "50", "true", 400, "VALIDATION_ERROR",
	  "'amount' must be an integer", "51", 422, "INVALID_AMOUNT",
	  "'amount' must be between 1 and 50", 400, "MISSING_FIELD", 1 },
	{ P_LIMIT, "20", "20", "\"x\"", 400, "VALIDATION_ERROR",
	  "'limit' must be an integer", "101", 400, "VALIDATION_ERROR",
	  "'limit' must be between 1 and 100", 400, "MISSING_FIELD", 1 },
	{ P_CURSOR, "\"2026120119320012300112233445566778899aabbccddeeff\"",
	  "2026120119320012300112233445566778899aabbccddeeff",
	  "\"20261301193200123\"", 400, "VALIDATION_ERROR",
	  "'cursor' is not a cursor this server returned", "", 0, "", "",
	  400, "MISSING_FIELD", 1 },
	{ P_CONCERT_ID, "2", "2", "\"2\"", 400, "VALIDATION_ERROR",
	  "'concertId' must be an integer", "65536", 400,
	  "VALIDATION_ERROR", "'concertId' must be between 1 and 65535",
	  400, "MISSING_FIELD", 1 },
	{ P_SECTION, "\"S01\"", "S01", "\"a b\"", 400, "VALIDATION_ERROR",
	  "'section' must be 1 to 16 letters, digits, '-' or '_'", "", 0, "",
	  "", 400, "MISSING_FIELD", 1 },
};

ParameterizedTestParameters(validate_table, every_row_answers_as_it_says)
{
	return cr_make_param_array(struct row_case, row_cases,
	    sizeof(row_cases) / sizeof(row_cases[0]));
}

static void
expect_answer(const struct row_case *c, int status, const char *code,
    const char *message)
{
	const char *name = validate_params_table[c->key].name;

	cr_assert_eq(w.status, status, "%s: status %d", name, w.status);
	cr_assert_str_eq(err_code(), code, "%s", name);
	if (message != NULL)
		cr_assert_str_eq(err_member("message"), message, "%s", name);
	if (c->named)
		cr_assert_str_eq(err_member("field"), name, "%s", name);
	else
		cr_assert_null(err_member("field"), "%s names itself", name);
}

ParameterizedTest(struct row_case *c, validate_table,
    every_row_answers_as_it_says, .init = setup, .fini = teardown)
{
	const struct param_def *d = &validate_params_table[c->key];
	unsigned bit = PBIT(c->key);
	struct params p;
	char buf[256];

	/* good, from the body */
	snprintf(buf, sizeof(buf), "{\"%s\":%s}", d->name, c->good_json);
	body(buf);
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), 0, "%s", buf);
	cr_assert(p.v[c->key].present);

	/* the same, from the query string (of a route that takes it there:
	 * a row with PSRC_QUERY_ROUTE is refused there on any other) */
	json_object_put(r.json);
	r.json = NULL;
	snprintf(buf, sizeof(buf), "%s=%s", d->name, c->good_query);
	r.query = buf;
	cr_assert_eq(validate_params(&r, bit, bit, bit, &cfg, &p, &w), 0, "%s", buf);
	cr_assert(p.v[c->key].present);
	if (d->sources & PSRC_QUERY_ROUTE) {
		cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1,
		    "%s", buf);
		cr_assert_eq(w.status, 400, "%s: status %d", buf, w.status);
		http_resp_clear(&w);
	} else
		cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), 0,
		    "%s", buf);
	r.query = "";

	/* absent: fine when optional, the row's answer when required */
	cr_assert_eq(validate_params(&r, bit, 0, 0, &cfg, &p, &w), 0);
	cr_assert_not(p.v[c->key].present);
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1);
	expect_answer(c, c->missing_status, c->missing_code, NULL);
	http_resp_clear(&w);

	/* refused */
	snprintf(buf, sizeof(buf), "{\"%s\":%s}", d->name, c->bad_json);
	body(buf);
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1, "%s", buf);
	expect_answer(c, c->bad_status, c->bad_code, c->bad_message);
	http_resp_clear(&w);

	/* out of range, from the body and from the query */
	if (c->over_json[0] == '\0')
		return;
	json_object_put(r.json);
	snprintf(buf, sizeof(buf), "{\"%s\":%s}", d->name, c->over_json);
	body(buf);
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1, "%s", buf);
	expect_answer(c, c->over_status, c->over_code, c->over_message);
	http_resp_clear(&w);
	json_object_put(r.json);
	r.json = NULL;
	snprintf(buf, sizeof(buf), "%s=%s", d->name, c->over_json);
	r.query = buf;
	cr_assert_eq(validate_params(&r, bit, bit, bit, &cfg, &p, &w), -1, "%s", buf);
	expect_answer(c, c->over_status, c->over_code, c->over_message);
	r.query = "";
}

/* The case table above covers every row of the parameter table. */
Test(validate_table, every_row_has_a_case)
{
	size_t i;
	int k, seen;

	for (k = 0; k < P__MAX; k++) {
		seen = validate_params_table[k].sources == PSRC_PATH;
		for (i = 0; i < sizeof(row_cases) / sizeof(row_cases[0]); i++)
			seen |= row_cases[i].key == k;
		cr_assert(seen, "row %s has no case", validate_params_table[k].name);
	}
}

/* A path row (PSRC_PATH) reads the route's "{name}" segment of its name
 * and nothing else: a body or query member of that name is ignored. */
Test(validate_table, path_row_reads_only_the_path, .init = setup,
    .fini = teardown)
{
	unsigned bit = PBIT(P_PATH_RESERVATION_ID);
	struct params p;

	r.method = HTTP_GET;
	r.query = "reservationId=123e4567-e89b-12d3-a456-426614174000";
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1);
	cr_assert_str_eq(err_code(), "MISSING_FIELD");
	http_resp_clear(&w);
	snprintf(r.path_name, sizeof(r.path_name), "reservationId");
	snprintf(r.path_value, sizeof(r.path_value), "not-a-uuid");
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1);
	cr_assert_str_eq(err_code(), "VALIDATION_ERROR");
	cr_assert_str_eq(err_member("field"), "reservationId");
	http_resp_clear(&w);
	snprintf(r.path_value, sizeof(r.path_value),
	    "123E4567-E89B-12D3-A456-426614174000");
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), 0);
	cr_assert(p.v[P_PATH_RESERVATION_ID].present);
	cr_assert_str_eq(p.v[P_PATH_RESERVATION_ID].s,
	    "123e4567-e89b-12d3-a456-426614174000");
	/* a segment of another name is not this row's */
	snprintf(r.path_name, sizeof(r.path_name), "concertId");
	cr_assert_eq(validate_params(&r, bit, 0, 0, &cfg, &p, &w), 0);
	cr_assert_not(p.v[P_PATH_RESERVATION_ID].present);
}

/* A cursor's time must be a real one: 24:00 or minute 60 is refused. */
Test(validate_table, cursor_time_is_checked, .init = setup, .fini = teardown)
{
	unsigned bit = PBIT(P_CURSOR);
	struct params p;

	r.method = HTTP_GET;
	r.query = "cursor=2026120124000000000112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1);
	http_resp_clear(&w);
	r.query = "cursor=2026120123600000000112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1);
	http_resp_clear(&w);
	r.query = "cursor=2026120123595999900112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), 0);
	cr_assert_str_eq(p.v[P_CURSOR].s, "2026-12-01 23:59:59.999");
}

/* Every cursor of the documented shape is taken (schemathesis sends
 * them): a day past the month's end reads as its last day; outside the
 * shape (day 00, month 13, year 0xxx) it is refused. */
Test(validate_table, cursor_of_the_documented_shape_is_taken, .init = setup,
    .fini = teardown)
{
	unsigned bit = PBIT(P_CURSOR);
	struct params p;
	static const char *const bad[] = {
		"cursor=2026120023595999900112233445566778899aabbccddeeff",
		"cursor=2026130123595999900112233445566778899aabbccddeeff",
		"cursor=0000000000000000000112233445566778899aabbccddeeff",
	};
	size_t i;

	r.method = HTTP_GET;
	r.query = "cursor=2026023112000000000112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), 0);
	cr_assert_str_eq(p.v[P_CURSOR].s, "2026-02-28 12:00:00.000");
	r.query = "cursor=2024023012000000000112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), 0);
	cr_assert_str_eq(p.v[P_CURSOR].s, "2024-02-29 12:00:00.000");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp_clear(&w);
		r.query = bad[i];
		cr_assert_eq(validate_params(&r, bit, bit, 0, &cfg, &p, &w), -1,
		    "%s", bad[i]);
	}
}

/* Only a row that lists the Authorization header reads it. */
Test(validate_table, bearer_only_where_the_row_allows_it, .init = setup,
    .fini = teardown)
{
	struct params p;

	r.method = HTTP_GET;
	r.authorization = "Bearer 123e4567-e89b-12d3-a456-426614174000";
	cr_assert_eq(validate_params(&r, PBIT(P_USER_ID), PBIT(P_USER_ID), 0, &cfg,
	    &p, &w), -1);
	cr_assert_str_eq(err_code(), "MISSING_FIELD");
	http_resp_clear(&w);
	r.authorization = "Bearer 00112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0, &cfg, &p,
	    &w), 0);
	cr_assert(p.v[P_TOKEN].present);
}

/* The body wins over the header and the query: the first source that
 * has the parameter decides, even when its value is refused. */
Test(validate_table, first_source_decides, .init = setup, .fini = teardown)
{
	struct params p;

	body("{\"token\":\"xyz\"}");
	r.authorization = "Bearer 00112233445566778899aabbccddeeff";
	r.query = "token=00112233445566778899aabbccddeeff";
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN),
	    PBIT(P_TOKEN), &cfg, &p, &w), -1);
	cr_assert_str_eq(err_code(), "TOKEN_INVALID");
}

/* A token in the query string is refused on a route that does not take
 * it there, whatever else the request carries (a valid header must not
 * make a URL-borne credential acceptable); taken where the route says. */
Test(validate_table, token_in_query_only_where_the_route_takes_it,
    .init = setup, .fini = teardown)
{
	struct params p;

	r.authorization = "Bearer 00112233445566778899aabbccddeeff";
	r.query = "token=00112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0, &cfg,
	    &p, &w), -1);
	cr_assert_eq(w.status, 400);
	cr_assert_str_eq(err_code(), "TOKEN_IN_QUERY");
	http_resp_clear(&w);
	r.query = "token=%zz";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0, &cfg,
	    &p, &w), -1);
	cr_assert_str_eq(err_code(), "TOKEN_IN_QUERY");
	http_resp_clear(&w);
	r.authorization = "";
	r.query = "token=00112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN),
	    PBIT(P_TOKEN), &cfg, &p, &w), 0);
	cr_assert(p.v[P_TOKEN].present);
}

/* The first source decides the value, but a malformed value in a later
 * source is refused too, not silently ignored (found by the OpenAPI
 * fuzzer: a valid header won over a malformed ?token=). */
Test(validate_table, every_source_present_is_checked, .init = setup,
    .fini = teardown)
{
	struct params p;

	r.authorization = "Bearer 00112233445566778899aabbccddeeff";
	r.query = "token=abc";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN),
	    PBIT(P_TOKEN), &cfg, &p, &w), -1);
	cr_assert_str_eq(err_code(), "TOKEN_INVALID");
	http_resp_clear(&w);
	r.query = "";
	body("{\"token\":\"00112233445566778899aabbccddeeff\"}");
	r.authorization = "Bearer xyz";
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0, &cfg,
	    &p, &w), -1);
	cr_assert_str_eq(err_code(), "TOKEN_INVALID");
	http_resp_clear(&w);
	r.authorization = "Bearer 00112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0, &cfg,
	    &p, &w), 0);
}

/* The same length limit from every source, answered by the row. */
Test(validate_table, too_long_from_each_source, .init = setup,
    .fini = teardown)
{
	char longv[PARAM_MAXLEN + 2], buf[256];
	struct params p;

	memset(longv, 'a', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';         /* PARAM_MAXLEN + 1 chars */
	snprintf(buf, sizeof(buf), "{\"date\":\"%s\",\"token\":\"%s\"}", longv,
	    longv);
	body(buf);
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_DATE), 0, 0, &cfg, &p, &w), -1);
	cr_assert_str_eq(err_member("message"), "'date' is too long");
	http_resp_clear(&w);
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), 0, 0, &cfg, &p, &w), -1);
	cr_assert_eq(w.status, 401);
	cr_assert_str_eq(err_member("message"), "token is malformed");
	http_resp_clear(&w);
	json_object_put(r.json);
	r.json = NULL;

	snprintf(buf, sizeof(buf), "Bearer %s", longv);
	r.authorization = buf;
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), 0, 0, &cfg, &p, &w), -1);
	cr_assert_str_eq(err_code(), "TOKEN_INVALID");
	cr_assert_str_eq(err_member("message"), "token is malformed");
	http_resp_clear(&w);
	r.authorization = "";

	snprintf(buf, sizeof(buf), "userId=%s", longv);
	r.query = buf;
	cr_assert_eq(validate_params(&r, PBIT(P_USER_ID), 0, 0, &cfg, &p, &w), -1);
	cr_assert_str_eq(err_member("message"), "'userId' is malformed or too long");
	http_resp_clear(&w);
	/* exactly PARAM_MAXLEN characters still reach the row's check */
	longv[PARAM_MAXLEN] = '\0';
	snprintf(buf, sizeof(buf), "userId=%s", longv);
	cr_assert_eq(validate_params(&r, PBIT(P_USER_ID), 0, 0, &cfg, &p, &w), -1);
	cr_assert_str_eq(err_member("message"), "'userId' must be a UUID");
}

/* An integer beyond 64 bits is out of range, not "not an integer". */
Test(validate_table, huge_json_integer_is_out_of_range, .init = setup,
    .fini = teardown)
{
	struct params p;

	body("{\"seatNumber\":-99999999999999999999999}");
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_SEAT_NUMBER), 0, 0, &cfg, &p, &w), -1);
	cr_assert_str_eq(err_member("message"),
	    "'seatNumber' must be between 1 and 1000000");
}

/* The bound of a configured row is read at each call. */
Test(validate_table, configured_bound_follows_the_config, .init = setup,
    .fini = teardown)
{
	struct config big = cfg;
	struct params p;

	big.max_charge_amount = 1000;
	body("{\"amount\":999}");
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_CHARGE_AMOUNT), 0, 0, &cfg, &p, &w), -1);
	cr_assert_eq(w.status, 422);
	http_resp_clear(&w);
	cr_assert_eq(validate_params(&r, PBIT(P_CHARGE_AMOUNT), 0, 0, &big, &p, &w), 0);
	cr_assert_eq(p.v[P_CHARGE_AMOUNT].i, 999);
}

/* Query integers: no sign but '-', no blanks, nothing after the digits. */
Test(validate_table, query_integers_are_strict, .init = setup,
    .fini = teardown)
{
	static const char *bad[] = { "seatNumber=", "seatNumber=%2B5",
	    "seatNumber=5%20", "seatNumber=%205", "seatNumber=5x", "seatNumber=0x5" };
	struct params p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r.query = bad[i];
		cr_assert_eq(validate_params(&r, PBIT(P_SEAT_NUMBER), 0, 0, &cfg, &p,
		    &w), -1, "accepted %s", bad[i]);
		cr_assert_str_eq(err_member("message"),
		    "'seatNumber' must be an integer", "%s", bad[i]);
		http_resp_clear(&w);
	}
	r.query = "seatNumber=-3";
	cr_assert_eq(validate_params(&r, PBIT(P_SEAT_NUMBER), 0, 0, &cfg, &p, &w), -1);
	cr_assert_str_eq(err_member("message"),
	    "'seatNumber' must be between 1 and 1000000");
}
