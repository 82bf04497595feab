/*
 * api: the handlers of /api/v1, one file per resource.  A handler runs
 * after its parameters were validated (router table); for routes flagged
 * ROUTE_TX it runs inside an open transaction that app.c commits when the
 * response is a success and rolls back otherwise.
 *
 * Return: 0 when w holds the answer (success or a 4xx decided by the
 * handler), -1 on a database error (app.c maps it: retry on deadlock,
 * 503 when the server is gone, 500 otherwise).
 *
 * Events: a handler appends what it did to c->events (api_event); app.c
 * sends them after the commit, and forgets them on a rollback or before
 * a retry.  A handler never talks to the producer itself.
 */
#ifndef CONCERT_API_H
#define CONCERT_API_H

#include "config.h"
#include "event.h"
#include "http.h"
#include "validate.h"

/* One request as a handler sees it. */
struct api_ctx {
	const struct config *cfg;
	struct http_req *r;
	struct http_resp *w;
	struct params *p;
	struct event_list *events;  /* sent after the commit */
};

/* Append an event of type to c->events and return it to be filled (NULL
 * if out of memory: logged, the event is lost). */
static inline struct event *
api_event(struct api_ctx *c, enum event_type type)
{
	return event_list_add(c->events, type);
}

typedef int (*api_handler)(struct api_ctx *c);

/* Prepare each module's statements (after db_configure). 0 / -1. */
int api_prepare(void);

int api_ping(struct api_ctx *c);
int api_health(struct api_ctx *c);
int api_token_issue(struct api_ctx *c);
int api_token_get(struct api_ctx *c);
int api_token_release(struct api_ctx *c);
int api_concerts(struct api_ctx *c);
int api_dates(struct api_ctx *c);
int api_seats(struct api_ctx *c);
int api_seat_summary(struct api_ctx *c);
int api_hold(struct api_ctx *c);
int api_charge(struct api_ctx *c);
int api_balance(struct api_ctx *c);
int api_pay(struct api_ctx *c);
int api_status(struct api_ctx *c);
int api_metrics(struct api_ctx *c);
/* api_booking.c: after the hold (GET/DELETE /reservations/{id}, POST
 * /reservations/{id}/cancel, GET /reservations, GET /payments). */
int api_res_get(struct api_ctx *c);
int api_res_list(struct api_ctx *c);
int api_res_release(struct api_ctx *c);
int api_res_cancel(struct api_ctx *c);
int api_pay_list(struct api_ctx *c);

/*
 * Authorise an action that needs an admitted user: the token of c->p must
 * be ACTIVE and unexpired.  Returns 0 with user, concert (the line the
 * token belongs to) and seq filled, 1 when w was set to a 401/403 answer,
 * -1 on a database error.
 */
int api_auth_active(struct api_ctx *c, unsigned char user[16], int *concert,
    long long *seq, int *unclaimed);

/* A token admits to its own concert only: 0 when token_concert is
 * concert, else 1 with w set to 403 TOKEN_WRONG_CONCERT. */
int api_token_concert_mismatch(struct api_ctx *c, int token_concert,
    int concert);

/*
 * api_auth_active() reads the token without a lock, so the admission may
 * end (DELETE /token, a payment, the consumer's lapse) while the request
 * waits on other rows.  Before depending on it, a transaction re-checks
 * it here under the token's row lock, at the token's place in the lock
 * order (last): 0 still ACTIVE and unexpired (locked until the commit),
 * 1 when w was set to 403 TOKEN_EXPIRED, -1 on a database error.
 * claim: also record the token's first use (claimed_at), in the same
 * round trip when it is still unrecorded.
 */
int api_token_still_active(struct api_ctx *c, int concert, long long seq,
    int claim);

/* Per-module statement preparation, called by api_prepare. */
int api_token_prepare(void);
int api_reservation_prepare(void);
int api_concert_prepare(void);
int api_balance_prepare(void);
int api_payment_prepare(void);
int api_ops_prepare(void);
int api_booking_prepare(void);


#endif
