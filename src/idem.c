/*
 * idem: see idem.h.
 */
#include "idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static struct db_stmt *st_ins, *st_sel, *st_del, *st_upd;

/* The scope binds the key to one route: the same key on another route is
 * a different key. */
static void
scope_of(const struct http_req *r, char *out, size_t len)
{
	snprintf(out, len, "%s %s\n%s", r->method_name, r->path, r->idem_key);
}

int
idem_prepare(void)
{
	st_ins = db_stmt("INSERT INTO idempotency_keys"
	    " (scope, request_hash, status, body)"
	    " VALUES (UNHEX(SHA2(?, 256)), UNHEX(SHA2(?, 256)), 0, '')");
	st_sel = db_stmt("SELECT request_hash = UNHEX(SHA2(?, 256)), status, body,"
	    " created_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND"
	    " FROM idempotency_keys WHERE scope = UNHEX(SHA2(?, 256))");
	st_del = db_stmt("DELETE FROM idempotency_keys"
	    " WHERE scope = UNHEX(SHA2(?, 256))");
	st_upd = db_stmt("UPDATE idempotency_keys SET status = ?, body = ?"
	    " WHERE scope = UNHEX(SHA2(?, 256))");
	return st_ins && st_sel && st_del && st_upd ? 0 : -1;
}

int
idem_key_valid(const char *key)
{
	size_t n = strlen(key), i;

	if (n == 0 || n > 200)
		return -1;
	for (i = 0; i < n; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			return -1;
	return 0;
}

enum idem_result
idem_begin(const struct config *cfg, struct http_req *r, struct http_resp *w)
{
	char scope[512];
	static char body[HTTP_MAX_BODY * 4 + 64];
	long long same, status, expired;
	int tries;

	scope_of(r, scope, sizeof(scope));
	for (tries = 0; tries < 2; tries++) {
		if (db_exec(st_ins, "ss", scope, r->body) == 1)
			return db_query_simple("SAVEPOINT idem") == 0 ?
			    IDEM_PROCEED : IDEM_DBERR;
		if (db_errno() == DB_ER_LOCK_WAIT_TIMEOUT) {
			http_error(w, 409, "IDEMPOTENCY_IN_PROGRESS",
			    "a request with this Idempotency-Key is still"
			    " being processed; retry later");
			http_header(w, "Retry-After", "1");
			return IDEM_ANSWERED;
		}
		if (db_errno() != DB_ER_DUP_ENTRY)
			return IDEM_DBERR;
		if (db_exec(st_sel, "sis", r->body,
		    (long long)cfg->idempotency_ttl_seconds, scope) < 0)
			return IDEM_DBERR;
		if (db_fetch(st_sel, "iisi", &same, &status, body, sizeof(body),
		    &expired) != 1) {
			db_done(st_sel);
			continue;       /* deleted meanwhile: claim it again */
		}
		db_done(st_sel);
		if (expired) {
			if (db_exec(st_del, "s", scope) < 0)
				return IDEM_DBERR;
			continue;
		}
		if (!same) {
			http_error(w, 422, "IDEMPOTENCY_KEY_REUSED",
			    "this Idempotency-Key was used with a different"
			    " request body");
			return IDEM_ANSWERED;
		}
		http_json(w, (int)status, json_tokener_parse(body));
		http_header(w, "Idempotent-Replayed", "true");
		return IDEM_ANSWERED;
	}
	http_error(w, 409, "IDEMPOTENCY_IN_PROGRESS",
	    "this Idempotency-Key is contended; retry later");
	http_header(w, "Retry-After", "1");
	return IDEM_ANSWERED;
}

int
idem_finish(struct http_req *r, struct http_resp *w)
{
	char scope[512];
	const char *body;

	if (w->status >= 400 && db_query_simple("ROLLBACK TO SAVEPOINT idem") == -1)
		return -1;
	scope_of(r, scope, sizeof(scope));
	body = w->body ? json_object_to_json_string_ext(w->body,
	    JSON_C_TO_STRING_PLAIN) : "null";
	return db_exec(st_upd, "iss", (long long)w->status, body, scope) < 0 ?
	    -1 : 0;
}
