/*
 * idem: see idem.h.
 */
#include "idem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "util.h"

static struct db_stmt *st_ins, *st_sel, *st_del, *st_upd, *st_user;

/* Room for a scope: method (16), path (HTTP_MAX_PATH), caller, key (200). */
#define IDEM_SCOPE_LEN (16 + HTTP_MAX_PATH + IDEM_CALLER_LEN + 200 + 8)

/* The scope idem_begin() claimed, for idem_finish() (one request at a
 * time per process). */
static char idem_claimed[IDEM_SCOPE_LEN];

/*
 * The caller a key belongs to: the request's userId, else the user of the
 * queue token that authorises it; a token nobody holds stays a caller of
 * its own.  0, or -1 on a database error.
 */
static int
idem_caller(const struct params *p, char out[IDEM_CALLER_LEN])
{
	unsigned char user[16];
	char text[40];
	int n;

	out[0] = '\0';
	if (p->v[P_USER_ID].present) {
		snprintf(out, IDEM_CALLER_LEN, "user %s", p->v[P_USER_ID].s);
		return 0;
	}
	if (!p->v[P_TOKEN].present)
		return 0;
	if (db_exec(st_user, "u", p->v[P_TOKEN].u) < 0)
		return -1;
	n = db_fetch(st_user, "u", user);
	db_done(st_user);
	if (n == -1)
		return -1;
	if (n == 1) {
		util_uuid_format(user, text);
		snprintf(out, IDEM_CALLER_LEN, "user %s", text);
	} else {
		util_hex(p->v[P_TOKEN].u, 16, text);
		snprintf(out, IDEM_CALLER_LEN, "token %s", text);
	}
	return 0;
}

size_t
idem_scope(const struct http_req *r, const char *caller, char *out,
    size_t len)
{
	int n = snprintf(out, len, "%s %s\n%s\n%s", r->method_name, r->path,
	    caller, r->idem_key != NULL ? r->idem_key : "");

	if (n < 0)
		n = 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

char *
idem_request_text(const struct http_req *r, const char *caller)
{
	size_t qlen = strlen(r->query), len;
	char *s;

	len = strlen(r->method_name) + strlen(r->path) + strlen(caller) +
	    qlen + r->body_len + 48;
	if ((s = malloc(len)) == NULL)
		return NULL;
	snprintf(s, len, "%s %s\n%s\n%zu:%s\n%s", r->method_name, r->path,
	    caller, qlen, r->query, r->body);
	return s;
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
	st_user = db_stmt("SELECT user_id FROM queue_tokens WHERE token = ?");
	return st_ins && st_sel && st_del && st_upd && st_user ? 0 : -1;
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
idem_begin(const struct config *cfg, struct http_req *r,
    const struct params *p, struct http_resp *w)
{
	char *scope = idem_claimed, caller[IDEM_CALLER_LEN], *req;
	static char body[HTTP_MAX_BODY * 4 + 64];
	long long same, status, expired;
	enum idem_result rc = IDEM_DBERR;
	int tries;

	scope[0] = '\0';
	if (idem_caller(p, caller) == -1)
		return IDEM_DBERR;
	idem_scope(r, caller, scope, sizeof(idem_claimed));
	if ((req = idem_request_text(r, caller)) == NULL)
		return IDEM_DBERR;
	for (tries = 0; tries < 2; tries++) {
		if (db_exec(st_ins, "ss", scope, req) == 1) {
			rc = db_query_simple("SAVEPOINT idem") == 0 ?
			    IDEM_PROCEED : IDEM_DBERR;
			goto out;
		}
		if (db_errno() == DB_ER_LOCK_WAIT_TIMEOUT) {
			http_error(w, 409, "IDEMPOTENCY_IN_PROGRESS",
			    "a request with this Idempotency-Key is still"
			    " being processed; retry later");
			http_header(w, "Retry-After", "1");
			rc = IDEM_ANSWERED;
			goto out;
		}
		if (db_errno() != DB_ER_DUP_ENTRY)
			goto out;
		if (db_exec(st_sel, "sis", req,
		    (long long)cfg->idempotency_ttl_seconds, scope) < 0)
			goto out;
		if (db_fetch(st_sel, "iisi", &same, &status, body, sizeof(body),
		    &expired) != 1) {
			db_done(st_sel);
			continue;       /* deleted meanwhile: claim it again */
		}
		db_done(st_sel);
		if (expired) {
			if (db_exec(st_del, "s", scope) < 0)
				goto out;
			continue;
		}
		if (!same) {
			http_error(w, 422, "IDEMPOTENCY_KEY_REUSED",
			    "this Idempotency-Key was used with a different"
			    " request");
			rc = IDEM_ANSWERED;
			goto out;
		}
		http_json(w, (int)status, json_tokener_parse(body));
		http_header(w, "Idempotent-Replayed", "true");
		rc = IDEM_ANSWERED;
		goto out;
	}
	http_error(w, 409, "IDEMPOTENCY_IN_PROGRESS",
	    "this Idempotency-Key is contended; retry later");
	http_header(w, "Retry-After", "1");
	rc = IDEM_ANSWERED;
out:
	free(req);
	return rc;
}

int
idem_finish(struct http_req *r, struct http_resp *w)
{
	const char *body;

	if (w->status >= 400 && db_query_simple("ROLLBACK TO SAVEPOINT idem") == -1)
		return -1;
	body = w->body ? json_object_to_json_string_ext(w->body,
	    JSON_C_TO_STRING_PLAIN) : "null";
	return db_exec(st_upd, "iss", (long long)w->status, body,
	    idem_claimed) < 0 ? -1 : 0;
}
