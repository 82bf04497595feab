/*
 * Unit tests: the pure parts of idem.c -- the Idempotency-Key header
 * check, and the texts a key's scope and request hash are made of.  The
 * rest is SQL inside the request's transaction (the caller's lookup,
 * claiming the key's row, replaying or storing the answer); the
 * integration tests cover it (test_payments.py, test_idem_scope.py).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idem.h"

Test(idem_key, accepts_visible_ascii_up_to_200)
{
	char key[201];

	cr_assert_eq(idem_key_valid("a"), 0);
	cr_assert_eq(idem_key_valid("123e4567-e89b-12d3-a456-426614174000"), 0);
	cr_assert_eq(idem_key_valid("!~{}\"\\"), 0);
	memset(key, 'k', 200);
	key[200] = '\0';
	cr_assert_eq(idem_key_valid(key), 0);
}

Test(idem_key, refuses_empty_long_blank_and_non_ascii)
{
	char key[202];

	cr_assert_eq(idem_key_valid(""), -1);
	memset(key, 'k', 201);
	key[201] = '\0';
	cr_assert_eq(idem_key_valid(key), -1);
	cr_assert_eq(idem_key_valid("a b"), -1);
	cr_assert_eq(idem_key_valid("a\tb"), -1);
	cr_assert_eq(idem_key_valid("tail\x7f"), -1);
	cr_assert_eq(idem_key_valid("caf\xc3\xa9"), -1);
	cr_assert_eq(idem_key_valid("\x01"), -1);
}

static struct http_req r;

static void
request(const char *query, const char *body, const char *key)
{
	memset(&r, 0, sizeof(r));
	r.method = HTTP_POST;
	r.method_name = "POST";
	snprintf(r.path, sizeof(r.path), "/api/v1/balance");
	r.query = query;
	snprintf(r.body, sizeof(r.body), "%s", body);
	r.body_len = strlen(body);
	r.idem_key = key;
}

Test(idem_scope, binds_route_caller_and_key)
{
	char a[600], b[600];

	request("", "{}", "k1");
	cr_assert_eq(idem_scope(&r, "user u1", a, sizeof(a)), strlen(a));
	cr_assert_str_eq(a, "POST /api/v1/balance\nuser u1\nk1");
	idem_scope(&r, "user u2", b, sizeof(b));
	cr_assert_str_neq(a, b, "two callers share a scope");
	/* the query and body are not part of the scope: a changed request
	 * under one key must find the key and be refused, not run anew */
	request("x=1", "{\"a\":1}", "k1");
	idem_scope(&r, "user u1", b, sizeof(b));
	cr_assert_str_eq(a, b);
}

Test(idem_scope, truncates_to_the_buffer)
{
	char small[8];

	request("", "{}", "a-long-key");
	cr_assert_eq(idem_scope(&r, "user u1", small, sizeof(small)), 7);
	cr_assert_str_eq(small, "POST /a");
}

Test(idem_request_text, covers_the_whole_request)
{
	char *t, *u;

	request("x=1", "{\"amount\":7}", "k");
	t = idem_request_text(&r, "user u1");
	cr_assert_str_eq(t, "POST /api/v1/balance\nuser u1\n3:x=1\n{\"amount\":7}");
	u = idem_request_text(&r, "user u2");
	cr_assert_str_neq(t, u);
	free(u);
	request("", "{\"amount\":7}", "k");
	u = idem_request_text(&r, "user u1");
	cr_assert_str_neq(t, u, "the query string is not covered");
	free(u);
	free(t);
}

/* The query's length comes first: moving text between the query and the
 * body never gives the same text. */
Test(idem_request_text, query_and_body_do_not_blur)
{
	char *t, *u;

	request("a", "\nb", "k");
	t = idem_request_text(&r, "c");
	request("a\n", "b", "k");
	u = idem_request_text(&r, "c");
	cr_assert_str_neq(t, u);
	free(t);
	free(u);
}
