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
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "event.h"
#include "model.h"
#include "util.h"

static struct db_stmt *st_res_lock, *st_seat_lock, *st_deadline, *st_sell, *st_debit, *st_ledger,
    *st_pay_ins, *st_confirm, *st_other_holds, *st_tok_end, *st_balance;

int
api_payment_prepare(void)
{
	st_res_lock = db_stmt("SELECT user_id,"
	    " DATE_FORMAT(concert_date, '%Y-%m-%d'), seat_number, price, state"
	    " FROM reservations WHERE id = ? FOR UPDATE");
	st_seat_lock = db_stmt("SELECT state FROM seats"
	    " WHERE concert_date = ? AND seat_number = ? FOR UPDATE");
	/* Both rows are locked when this runs, so "now" is after any wait
	 * (and the locking read sees the latest row, not a snapshot). */
	st_deadline = db_stmt("SELECT expires_at > UTC_TIMESTAMP(3)"
	    " FROM reservations WHERE id = ? FOR UPDATE");
	st_sell = db_stmt("UPDATE seats SET state = " SQL_SEAT_SOLD
	    ", hold_expires_at = NULL"
	    " WHERE concert_date = ? AND seat_number = ?"
	    " AND state = " SQL_SEAT_HELD " AND reservation_id = ?");
	st_debit = db_stmt("UPDATE users SET balance = balance - ?"
	    " WHERE id = ? AND balance >= ?");
	st_ledger = db_stmt("INSERT INTO balance_ledger"
	    " (user_id, delta, kind, ref_id) VALUES (?, ?, 'PAYMENT', ?)");
	st_pay_ins = db_stmt("INSERT INTO payments"
	    " (id, reservation_id, user_id, amount) VALUES (?, ?, ?, ?)");
	st_confirm = db_stmt("UPDATE reservations SET state = " SQL_RES_CONFIRMED
	    ", updated_at = UTC_TIMESTAMP(3)"
	    " WHERE id = ? AND state = " SQL_RES_HELD);
	st_other_holds = db_stmt("SELECT COUNT(*) FROM reservations"
	    " WHERE user_id = ? AND state = " SQL_RES_HELD
	    " AND expires_at > UTC_TIMESTAMP(3) AND id <> ?");
	st_tok_end = db_stmt("UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED
	    ", live_user = NULL, expires_at = UTC_TIMESTAMP(3), end_reason = "
	    SQL_TOKEN_END_PAID " WHERE seq = ? AND state = " SQL_TOKEN_ACTIVE);
	st_balance = db_stmt("SELECT balance FROM users WHERE id = ?");
	return st_res_lock && st_seat_lock && st_deadline && st_sell && st_debit && st_ledger && st_pay_ins &&
	    st_confirm && st_other_holds && st_tok_end && st_balance ? 0 : -1;
}

int
api_pay(struct api_ctx *c)
{
	const unsigned char *rid = c->p->v[P_RESERVATION_ID].u;
	long long amount = c->p->v[P_AMOUNT].i;
	unsigned char user[16], owner[16], pid[16];
	char date[16], pid_s[UUID_STR_LEN];
	const char *rid_s = c->p->v[P_RESERVATION_ID].s;
	long long seq, seat, price, state, live, n, bal;
	struct event *e;
	json_object *o;
	int rc;

	if ((rc = api_auth_active(c, user, &seq)) != 0)
		return rc < 0 ? -1 : 0;
	if (db_exec(st_res_lock, "u", rid) < 0)
		return -1;
	rc = db_fetch(st_res_lock, "usiii", owner, date, sizeof(date), &seat,
	    &price, &state);
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
	if (db_exec(st_seat_lock, "si", date, seat) < 0 ||
	    (rc = db_fetch(st_seat_lock, "i", &n)) < 0)
		return -1;
	db_done(st_seat_lock);
	if (db_exec(st_deadline, "u", rid) < 0 ||
	    db_fetch(st_deadline, "i", &live) != 1)
		return -1;
	db_done(st_deadline);
	if (rc == 0)
		live = 0;
	if (memcmp(owner, user, 16) != 0) {
		http_error(c->w, 403, "NOT_RESERVATION_OWNER",
		    "the reservation belongs to another user");
		return 0;
	}
	if (state == RES_CONFIRMED) {
		http_error(c->w, 409, "ALREADY_PAID",
		    "the reservation is already paid");
		return 0;
	}
	if (state != RES_HELD || !live) {
		http_error(c->w, 409, "RESERVATION_EXPIRED",
		    "the hold expired before payment; nothing was charged");
		return 0;
	}
	if (amount != price) {
		http_error(c->w, 422, "AMOUNT_MISMATCH",
		    "amount must equal the seat price %lld", price);
		return 0;
	}
	if ((n = db_exec(st_sell, "siu", date, seat, rid)) < 0)
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
	/* The admission the payment was authorised by must still hold (it
	 * is also what is ended below). */
	if ((rc = api_token_still_active(c, seq)) != 0)
		return rc < 0 ? -1 : 0;
	if (db_exec(st_other_holds, "uu", user, rid) < 0 ||
	    db_fetch(st_other_holds, "i", &n) != 1)
		return -1;
	db_done(st_other_holds);
	util_uuid_format(pid, pid_s);
	if (n == 0) {
		/* Done shopping: the admission ends and frees a place. */
		if ((n = db_exec(st_tok_end, "i", seq)) < 0)
			return -1;
		if (n == 1 && (e = api_event(c, EVENT_TOKEN_RELEASED)) != NULL) {
			memcpy(e->user, user, 16);
			e->seq = seq;
			e->reason = EVENT_REASON_PAID;
		}
	}
	if (db_exec(st_balance, "u", user) < 0 ||
	    db_fetch(st_balance, "i", &bal) != 1)
		return -1;
	db_done(st_balance);
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
