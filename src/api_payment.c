/*
 * api_payment: pay for a held seat, in one transaction.
 *
 * The reservation row is locked first, then its seat row, and only then
 * are its owner, state and deadline checked: a payment and the consumer's
 * expiry of the same hold serialise on the reservation, and nothing can
 * change the seat between the check and the sale (before, the seat was
 * locked only by the sell, so a payment that waited on a busy seat row
 * sold it after its deadline had passed).  The deadline is read by a
 * statement issued after both locks are held: MySQL evaluates
 * UTC_TIMESTAMP() once at the start of a statement, so a deadline
 * compared inside a locking read that waited is compared with the time
 * before the wait.  The seat is sold with a conditional UPDATE (it must
 * still be held by this reservation: after lazy expiry someone else may
 * have taken it), the debit is conditional on the balance, and
 * payments.reservation_id is UNIQUE.
 * Lock order: reservation, seat, user, token (holds take seat, user,
 * token and insert their own new reservation row, which no other
 * transaction can know yet; the consumer takes reservation, seat).
 *
 * Round trips of a successful POST /payments (asserted by
 * tests/integration/test_round_trips.py; an Idempotency-Key adds idem.c's
 * INSERT + SAVEPOINT + UPDATE):
 *   START TRANSACTION
 *   1 api_auth_active  token lookup (unlocked)
 *   2 st_res_lock      reservation row lock
 *   3 st_seat_lock     seat row lock
 *   4 st_sell          the sale, conditional on the hold AND its deadline:
 *                      it starts after both locks are held, so its "now"
 *                      is after any wait (was st_deadline + st_sell; the
 *                      deadline SELECT now runs only to tell 409 from 422
 *                      when the amount is wrong)
 *   5 st_debit         conditional on the balance
 *   6 st_ledger
 *   7 st_pay_ins       UNIQUE reservation_id: exactly once
 *   8 st_confirm
 *   9 st_balance       the new balance and the user's other live holds
 *                      (was two SELECTs); no lock is waited on here
 *  10 st_tok_end       no other hold: the admission ends, conditional on
 *                      it being ACTIVE and unexpired (was still_active +
 *                      tok_end); else api_token_still_active, which also
 *                      records a first use (was a claim UPDATE of its own
 *                      in the authorisation)
 *   COMMIT
 * Before: 13 statements (12 with other holds), one more on a token's
 * first use.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "event.h"
#include "model.h"
#include "stmts.h"
#include "util.h"

static struct db_stmt *st_res_lock, *st_seat_lock, *st_deadline, *st_sell,
    *st_debit, *st_ledger, *st_pay_ins, *st_confirm, *st_tok_end, *st_balance;

int
api_payment_prepare(void)
{
	st_res_lock = db_stmt(SQL_PAY_RES_LOCK);
	st_seat_lock = db_stmt(SQL_PAY_SEAT_LOCK);
	/* Both rows are locked when this runs, so "now" is after any wait
	 * (and the locking read sees the latest row, not a snapshot). */
	st_deadline = db_stmt("SELECT expires_at > UTC_TIMESTAMP(3)"
	    " FROM reservations WHERE id = ? FOR UPDATE");
	st_sell = db_stmt(SQL_PAY_SELL);
	st_debit = db_stmt(SQL_PAY_DEBIT);
	st_ledger = db_stmt(SQL_PAY_LEDGER);
	st_pay_ins = db_stmt(SQL_PAY_INS);
	st_confirm = db_stmt(SQL_PAY_CONFIRM);
	st_tok_end = db_stmt(SQL_PAY_TOK_END);
	/* The user row is ours (st_debit): a plain read, nothing waited on.
	 * Only holds of the same concert keep its admission open. */
	st_balance = db_stmt(SQL_PAY_BALANCE);
	return st_res_lock && st_seat_lock && st_deadline && st_sell &&
	    st_debit && st_ledger && st_pay_ins && st_confirm && st_tok_end &&
	    st_balance ? 0 : -1;
}

int
api_pay(struct api_ctx *c)
{
	const unsigned char *rid = c->p->v[P_RESERVATION_ID].u;
	long long amount = c->p->v[P_AMOUNT].i;
	unsigned char user[16], owner[16], pid[16];
	char date[16], pid_s[UUID_STR_LEN];
	const char *rid_s = c->p->v[P_RESERVATION_ID].s;
	long long seq, seat, price, state, live, n, bal, concert = 0;
	struct event *e;
	json_object *o;
	int rc, unclaimed, tc;

	if ((rc = api_auth_active(c, user, &tc, &seq, &unclaimed)) != 0)
		return rc < 0 ? -1 : 0;
	if (db_exec(st_res_lock, "u", rid) < 0)
		return -1;
	rc = db_fetch(st_res_lock, "usiiii", owner, date, sizeof(date), &seat,
	    &price, &state, &concert);
	db_done(st_res_lock);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		http_error(c->w, 404, "RESERVATION_NOT_FOUND", "no such reservation");
		return 0;
	}
	/* Taken before any check, so that every check below holds until the
	 * commit.  Seat rows are never deleted; if one were, the hold is
	 * gone with it (the sell below would match nothing either). */
	if (db_exec(st_seat_lock, "isi", concert, date, seat) < 0 ||
	    (rc = db_fetch(st_seat_lock, "i", &n)) < 0)
		return -1;
	db_done(st_seat_lock);
	if (memcmp(owner, user, 16) != 0) {
		http_error(c->w, 403, "NOT_RESERVATION_OWNER",
		    "the reservation belongs to another user");
		return 0;
	}
	/* A token pays only for its own concert's seats. */
	if (api_token_concert_mismatch(c, tc, (int)concert))
		return 0;
	if (state == RES_CONFIRMED) {
		http_error(c->w, 409, "ALREADY_PAID",
		    "the reservation is already paid");
		return 0;
	}
	if (state != RES_HELD || rc == 0) {
		http_error(c->w, 409, "RESERVATION_EXPIRED",
		    "the hold expired before payment; nothing was charged");
		return 0;
	}
	if (amount != price) {
		/* Which answer: an expired hold is told first.  Both rows
		 * are locked, so "now" is after any wait. */
		if (db_exec(st_deadline, "u", rid) < 0 ||
		    db_fetch(st_deadline, "i", &live) != 1)
			return -1;
		db_done(st_deadline);
		if (!live)
			http_error(c->w, 409, "RESERVATION_EXPIRED",
			    "the hold expired before payment; nothing was"
			    " charged");
		else
			http_error(c->w, 422, "AMOUNT_MISMATCH",
			    "amount must equal the seat price %lld", price);
		return 0;
	}
	/* Expired (the deadline is part of the UPDATE) or not held by this
	 * reservation any more (lazy expiry let someone else take it). */
	if ((n = db_exec(st_sell, "isiuu", concert, date, seat, rid, rid)) < 0)
		return -1;
	if (n == 0) {
		http_error(c->w, 409, "RESERVATION_EXPIRED",
		    "the hold expired before payment; nothing was charged");
		return 0;
	}
	if ((n = db_exec(st_debit, "iui", amount, user, amount)) < 0)
		return -1;
	if (n == 0) {
		http_error(c->w, 402, "INSUFFICIENT_BALANCE",
		    "the balance is below %lld", amount);
		return 0;
	}
	util_uuid_new(pid);
	if (db_exec(st_ledger, "uiu", user, -amount, pid) != 1)
		return -1;
	if (db_exec(st_pay_ins, "uuui", pid, rid, user, amount) < 0) {
		if (db_errno() != DB_ER_DUP_ENTRY)
			return -1;
		http_error(c->w, 409, "ALREADY_PAID", "the reservation is already paid");
		return 0;
	}
	if (db_exec(st_confirm, "u", rid) != 1)
		return -1;
	if (db_exec(st_balance, "iuu", concert, rid, user) < 0 ||
	    db_fetch(st_balance, "ii", &bal, &n) != 1)
		return -1;
	db_done(st_balance);
	/* The admission the payment was authorised by must still hold, under
	 * its lock (last in the lock order). */
	if (n == 0) {
		/* Done shopping: the admission ends and frees a place.  The
		 * UPDATE is the re-check: it ends only an ACTIVE, unexpired
		 * admission. */
		if ((n = db_exec(st_tok_end, "ii", (long long)tc, seq)) < 0)
			return -1;
		if (n == 0) {
			http_error(c->w, 403, "TOKEN_EXPIRED",
			    "the token's admission has ended; request a new"
			    " token");
			return 0;
		}
		if ((e = api_event(c, EVENT_TOKEN_RELEASED)) != NULL) {
			memcpy(e->user, user, 16);
			e->seq = seq;
			e->reason = EVENT_REASON_PAID;
		}
	} else if ((rc = api_token_still_active(c, tc, seq, unclaimed)) != 0)
		return rc < 0 ? -1 : 0;
	util_uuid_format(pid, pid_s);
	o = json_object_new_object();
	json_object_object_add(o, "paymentId", json_object_new_string(pid_s));
	json_object_object_add(o, "status", json_object_new_string("success"));
	json_object_object_add(o, "reservationId", json_object_new_string(rid_s));
	json_object_object_add(o, "amount", json_object_new_int64(amount));
	json_object_object_add(o, "balance", json_object_new_int64(bal));
	http_json(c->w, 201, o);

	if ((e = api_event(c, EVENT_PAYMENT_COMPLETED)) != NULL) {
		memcpy(e->reservation, rid, 16);
		memcpy(e->user, user, 16);
		memcpy(e->payment, pid, 16);
		e->amount = amount;
		snprintf(e->date, sizeof(e->date), "%.10s", date);
		e->seat = seat;
	}
	return 0;
}
