/* Unit tests: the declarative parameter table (validate_body/params). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

static struct http_req r;
static struct http_resp w;

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
	cr_assert_eq(validate_params(&r, PBIT(P_DATE), PBIT(P_DATE), 100, &p, &w), 0);
	cr_assert_str_eq(p.v[P_DATE].s, "2024-07-03");
}

Test(validate, query_string_parameters)
{
	struct params p;

	r.method = HTTP_GET;
	r.query = "userId=123e4567-e89b-12d3-a456-426614174000";
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_USER_ID), PBIT(P_USER_ID), 100, &p, &w), 0);
	cr_assert(p.v[P_USER_ID].present);
	cr_assert_str_eq(p.v[P_USER_ID].s, "123e4567-e89b-12d3-a456-426614174000");
}

Test(validate, missing_required_field_names_it)
{
	struct params p;
	json_object *e, *f;

	body("{}");
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, PBIT(P_USER_ID), PBIT(P_USER_ID), 100, &p, &w), -1);
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
	cr_assert_eq(validate_params(&r, all, all, 100, &p, &w), -1, "accepted %s", b->body);
	cr_assert_eq(w.status, b->status, "%s: status %d", b->body, w.status);
	cr_assert_str_eq(err_code(), b->code, "%s", b->body);
}

Test(validate, token_from_bearer_header)
{
	struct params p;

	r.method = HTTP_GET;
	r.authorization = "Bearer 00112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 100, &p, &w), 0);
	cr_assert_eq(p.v[P_TOKEN].u[15], 0xff);
}

Test(validate, accepts_a_complete_hold)
{
	struct params p;
	unsigned all = PBIT(P_SEAT_NUMBER) | PBIT(P_DATE) | PBIT(P_TOKEN);

	body("{\"date\":\"2024-07-03\",\"seatNumber\":12,\"token\":\"00112233445566778899aabbccddeeff\",\"extra\":1}");
	cr_assert_eq(validate_body(&r, &w), 0);
	cr_assert_eq(validate_params(&r, all, all, 100, &p, &w), 0);
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
		cr_assert_eq(validate_params(&r, PBIT(c[i].k), PBIT(c[i].k), 100, &p, &w), -1,
		    "accepted %s", c[i].body);
		cr_assert_eq(w.status, c[i].status, "%s: status %d", c[i].body, w.status);
		cr_assert_str_eq(err_code(), c[i].code, "%s", c[i].body);
	}
}
