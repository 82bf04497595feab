/*
 * idem: Idempotency-Key support for POST routes.
 *
 * The key row is inserted inside the request's own transaction, before
 * the handler runs.  A concurrent duplicate therefore blocks on the key's
 * unique index until the first commits (then replays its answer) or rolls
 * back (then runs itself); an answer is stored exactly when its effects
 * are committed.  A duplicate still blocked after db_lock_wait_timeout
 * gets 409 IDEMPOTENCY_IN_PROGRESS with Retry-After.
 */
#ifndef CONCERT_IDEM_H
#define CONCERT_IDEM_H

#include "config.h"
#include "http.h"

enum idem_result {
	IDEM_PROCEED = 0,   /* key claimed: run the handler */
	IDEM_ANSWERED = 1,  /* w holds a replay or a 4xx: roll back, answer */
	IDEM_DBERR = -1,
};

int idem_prepare(void);

/* 0 if the header value is acceptable (1..200 visible ASCII). */
int idem_key_valid(const char *key);

/* In an open transaction: claim the key, or answer from it. */
enum idem_result idem_begin(const struct config *cfg, struct http_req *r,
    struct http_resp *w);

/* After the handler: if w is an error, undo the handler's effects (to the
 * savepoint) and store the answer; if a success, store it.  0 / -1. */
int idem_finish(struct http_req *r, struct http_resp *w);

#endif
