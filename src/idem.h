/*
 * idem: Idempotency-Key support for POST routes.
 *
 * The key row is inserted inside the request's own transaction, before
 * the handler runs.  A concurrent duplicate therefore blocks on the key's
 * unique index until the first commits (then replays its answer) or rolls
 * back (then runs itself); an answer is stored exactly when its effects
 * are committed.  A duplicate still blocked after db_lock_wait_timeout
 * gets 409 IDEMPOTENCY_IN_PROGRESS with Retry-After.
 *
 * A key belongs to one caller, the user of the request (its userId, or
 * the holder of its queue token): its scope is method, path, caller and
 * key, so another user's request with the same key is another request.  Its
 * stored hash covers the whole request (method, path, caller, query string
 * and body): the same key with any of them changed is 422
 * IDEMPOTENCY_KEY_REUSED.
 */
#ifndef CONCERT_IDEM_H
#define CONCERT_IDEM_H

#include "config.h"
#include "http.h"
#include "validate.h"

enum idem_result {
	IDEM_PROCEED = 0,   /* key claimed: run the handler */
	IDEM_ANSWERED = 1,  /* w holds a replay or a 4xx: roll back, answer */
	IDEM_DBERR = -1,
};

int idem_prepare(void);

/* 0 if the header value is acceptable (1..200 visible ASCII). */
int idem_key_valid(const char *key);

/* Longest caller text, with its NUL. */
#define IDEM_CALLER_LEN 48

/*
 * Given the caller as text ("user <uuid>"; for a token nobody holds,
 * "token <hex>"), the key's scope "METHOD PATH\ncaller\nkey", and the
 * text its request hash covers, "METHOD PATH\ncaller\nQLEN:query\nbody"
 * (the query's length first, so that no query and body pair reads as
 * another).  Pure.  idem_scope() returns the scope's length (truncated at
 * len - 1); the request text is malloc'd (NULL when out of memory).
 */
size_t idem_scope(const struct http_req *r, const char *caller, char *out,
    size_t len);
char *idem_request_text(const struct http_req *r, const char *caller);

/* In an open transaction: claim the key of r for the caller of its
 * validated parameters p, or answer from it. */
enum idem_result idem_begin(const struct config *cfg, struct http_req *r,
    const struct params *p, struct http_resp *w);

/* After the handler, for the key idem_begin() claimed: if w is an error,
 * undo the handler's effects (to the savepoint) and store the answer; if
 * a success, store it.  0 / -1. */
int idem_finish(struct http_req *r, struct http_resp *w);

#endif
