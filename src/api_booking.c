/*
 * api_booking: what a buyer does after the hold -- look a reservation up,
 * list their reservations and payments, release a hold early, cancel a
 * paid seat for a refund.
 *
 * The caller is userId (the query for GET and DELETE, the body or the
 * query for POST .../cancel; with auth = jwt, the verified subject).  A
 * reservation of another user is answered 404 RESERVATION_NOT_FOUND, the
 * same as one that does not exist: its id reveals nothing.
 *
 * Release (DELETE /reservations/{id}) and cancel (POST .../cancel) are one
 * transaction each, in the payment path's lock order -- reservation,
 * seat, then (cancel only) the payment row and the user -- so a release
 * and a payment of the same hold, or two cancels, serialise on the
 * reservation row, and a new hold of the seat waits on the seat row until
 * the seat is FREE.  Every check is made after both locks are held, and
 * the deadline and the refund cutoff are evaluated by statements issued
 * after them (MySQL takes UTC_TIMESTAMP() once per statement).
 *
 * No queue token is needed for either: releasing gives a seat back, and a
 * buyer whose admission ended must still be able to let a hold go or
 * cancel a purchase.
 *
 * Both are idempotent: a RELEASED reservation released again, a
 * CANCELLED one cancelled again, are answered 200 with the same body,
 * built from the rows (not from the request).
 *
 * Refund policy: the full amount while the request comes more than
 * refund_cutoff_hours before the concert (its date at 00:00 UTC: the
 * schema has no time of day); after that no cancel at all (409
 * REFUND_CLOSED), since a cancel without refund would only give the seat
 * away.  A refund is credited whatever max_balance says: the money was
 * the buyer's, and the ceiling only bounds top-ups.
 *
 * Round trips (between START TRANSACTION and COMMIT; an Idempotency-Key
 * adds idem.c's three):
 *   DELETE /reservations/{id}           POST /reservations/{id}/cancel
 *   1 st_lock       reservation lock    1 st_lock        reservation lock
 *   2 st_seat_lock  seat lock           2 st_seat_lock   seat lock
 *   3 st_release    HELD and unexpired  3 st_refund_mark payment, cutoff
 *   4 st_seat_free  seat FREE           4 st_pay_read    its id and amount
 *   5 st_res_get    the answer          5 st_credit      user lock, credit
 *                                       6 st_ledger      REFUND row
 *                                       7 st_seat_free   seat FREE
 *                                       8 st_cancel      CANCELLED
 *                                       9 st_res_get     the answer
 *
 * Lists are the caller's rows newest first (created_at, id), a page of
 * `limit` (default 20, at most 100), each read through the
 * (user_id, created_at, id) key; nextCursor, when there is more, is the
 * sort key of the page's last row.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "event.h"
#include "log.h"
#include "model.h"
#include "util.h"

#define BOOKING_LIMIT_DEFAULT 20

/* A DATETIME(3) as util_mysql_to_iso() reads it. */
#define TIME_FMT "'%Y-%m-%d %H:%i:%s.%f'"
/* The cursor's time part: 17 digits (ms). */
#define CURSOR_TIME(col) "LEFT(DATE_FORMAT(" col ", '%Y%m%d%H%i%s%f'), 17)"

/* The newest possible sort key: the first page's "cursor". */
#define CURSOR_FIRST_TIME "9999-12-31 23:59:59.999"
static const unsigned char cursor_first_id[16] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

#define RES_COLS \
	"r.id, DATE_FORMAT(r.concert_date, '%Y-%m-%d'), r.seat_number," \
	" r.price, r.state, r.expires_at > UTC_TIMESTAMP(3)," \
	" DATE_FORMAT(r.expires_at, " TIME_FMT ")," \
	" DATE_FORMAT(r.created_at, " TIME_FMT ")," \
	" IFNULL(DATE_FORMAT(r.updated_at, " TIME_FMT "), '')," \
	" IFNULL(LOWER(HEX(p.id)), ''), IFNULL(p.amount, 0)," \
	" IFNULL(DATE_FORMAT(p.refunded_at, " TIME_FMT "), '')," \
	" " CURSOR_TIME("r.created_at") ", r.concert_id" \
	" FROM reservations r LEFT JOIN payments p ON p.reservation_id = r.id"

#define PAY_COLS \
	"p.id, p.reservation_id, p.amount," \
	" DATE_FORMAT(p.created_at, " TIME_FMT ")," \
	" IFNULL(DATE_FORMAT(p.refunded_at, " TIME_FMT "), '')," \
	" IFNULL(DATE_FORMAT(r.concert_date, '%Y-%m-%d'), '')," \
	" IFNULL(r.seat_number, 0), " CURSOR_TIME("p.created_at") \
	" FROM payments p LEFT JOIN reservations r ON r.id = p.reservation_id"

/* Rows strictly older than the cursor (created_at, id), newest first. */
#define OLDER_THAN(t) \
	" AND (" t ".created_at < ? OR (" t ".created_at = ? AND " t ".id < ?))" \
	" ORDER BY " t ".created_at DESC, " t ".id DESC LIMIT ?"

static struct db_stmt *st_res_get, *st_res_list, *st_pay_list, *st_lock,
    *st_seat_lock, *st_release, *st_seat_free, *st_refund_mark, *st_pay_read,
    *st_credit, *st_ledger, *st_cancel;

int
api_booking_prepare(void)
{
	st_res_get = db_stmt("SELECT " RES_COLS
	    " WHERE r.id = ? AND r.user_id = ?");
	st_res_list = db_stmt("SELECT " RES_COLS " WHERE r.user_id = ?"
	    OLDER_THAN("r"));
	st_pay_list = db_stmt("SELECT " PAY_COLS " WHERE p.user_id = ?"
	    OLDER_THAN("p"));
	st_lock = db_stmt("SELECT user_id, concert_id, DATE_FORMAT(concert_date,"
	    " '%Y-%m-%d'), seat_number, state FROM reservations"
	    " WHERE id = ? FOR UPDATE");
	st_seat_lock = db_stmt("SELECT state FROM seats WHERE concert_id = ?"
	    " AND concert_date = ? AND seat_number = ? FOR UPDATE");
	/* After both locks: "now" is after any wait. */
	st_release = db_stmt("UPDATE reservations SET state = " SQL_RES_RELEASED
	    ", updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND state = "
	    SQL_RES_HELD " AND expires_at > UTC_TIMESTAMP(3)");
	/* The seat goes back on sale only if it is still this reservation's
	 * (HELD for a release, SOLD for a cancel). */
	st_seat_free = db_stmt("UPDATE seats SET state = " SQL_SEAT_FREE
	    ", hold_user = NULL, hold_expires_at = NULL, reservation_id = NULL"
	    " WHERE concert_id = ? AND concert_date = ? AND seat_number = ?"
	    " AND state = ? AND reservation_id = ?");
	/* The cutoff is part of the UPDATE: a cancel that waited on a lock
	 * is judged by the time it got it. */
	st_refund_mark = db_stmt("UPDATE payments"
	    " SET refunded_at = UTC_TIMESTAMP(3)"
	    " WHERE reservation_id = ? AND refunded_at IS NULL"
	    " AND UTC_TIMESTAMP(3) < TIMESTAMP(?) - INTERVAL ? HOUR");
	st_pay_read = db_stmt("SELECT id, amount FROM payments"
	    " WHERE reservation_id = ?");
	/* No ceiling: a refund gives back what was paid (max_balance bounds
	 * top-ups, api_balance.c). */
	st_credit = db_stmt("UPDATE users SET balance = balance + ?"
	    " WHERE id = ?");
	st_ledger = db_stmt("INSERT INTO balance_ledger"
	    " (user_id, delta, kind, ref_id) VALUES (?, ?, 'REFUND', ?)");
	st_cancel = db_stmt("UPDATE reservations SET state = " SQL_RES_CANCELLED
	    ", updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND state = "
	    SQL_RES_CONFIRMED);
	return st_res_get && st_res_list && st_pay_list && st_lock &&
	    st_seat_lock && st_release && st_seat_free && st_refund_mark &&
	    st_pay_read && st_credit && st_ledger && st_cancel ? 0 : -1;
}

/* Add name: the ISO form of a DATETIME text, or null when it is "". */
static void
add_time(json_object *o, const char *name, const char *mysql)
{
	char iso[ISO_TIME_LEN];

	if (mysql[0] == '\0' ||
	    util_mysql_to_iso(mysql, iso, sizeof(iso)) == -1) {
		json_object_object_add(o, name, NULL);
		return;
	}
	json_object_object_add(o, name, json_object_new_string(iso));
}

/* Add name: a UUID of 32 hex digits as text, or null when it is "". */
static void
add_hex_uuid(json_object *o, const char *name, const char *hex)
{
	unsigned char u[16];
	char s[UUID_STR_LEN];

	if (util_unhex(hex, u, 16) == -1) {
		json_object_object_add(o, name, NULL);
		return;
	}
	util_uuid_format(u, s);
	json_object_object_add(o, name, json_object_new_string(s));
}

static void
add_uuid(json_object *o, const char *name, const unsigned char u[16])
{
	char s[UUID_STR_LEN];

	util_uuid_format(u, s);
	json_object_object_add(o, name, json_object_new_string(s));
}

/* A cursor: 17 digits of time, 32 hex digits of id. */
static void
cursor_text(const char *time17, const unsigned char id[16], char *out,
    size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n;

	n = (size_t)snprintf(out, outlen, "%.17s", time17);
	for (i = 0; i < 16 && n + 2 < outlen; i++) {
		out[n++] = hex[id[i] >> 4];
		out[n++] = hex[id[i] & 15];
	}
	out[n] = '\0';
}

/* One fetched row of RES_COLS. */
struct res_row {
	unsigned char id[16];
	char date[16];
	long long seat, price, state, live, refund;
	char expires[40], created[40], updated[40], pay[40], refunded[40];
	char ctime[24];
	long long concert;
};

static int
res_fetch(struct db_stmt *st, struct res_row *x)
{
	return db_fetch(st, "usiiiissssissi", x->id, x->date, sizeof(x->date),
	    &x->seat, &x->price, &x->state, &x->live, x->expires,
	    sizeof(x->expires), x->created, sizeof(x->created), x->updated,
	    sizeof(x->updated), x->pay, sizeof(x->pay), &x->refund,
	    x->refunded, sizeof(x->refunded), x->ctime, sizeof(x->ctime),
	    &x->concert);
}

/* The reservation as the API shows it.  A HELD row past its deadline is
 * EXPIRED (lazy expiry: the consumer may not have marked it yet). */
static json_object *
res_json(const struct res_row *x)
{
	json_object *o = json_object_new_object();
	int state = (int)x->state;

	if (state == RES_HELD && !x->live)
		state = RES_EXPIRED;
	add_uuid(o, "reservationId", x->id);
	json_object_object_add(o, "concertId", json_object_new_int64(x->concert));
	json_object_object_add(o, "date", json_object_new_string(x->date));
	json_object_object_add(o, "seatNumber", json_object_new_int64(x->seat));
	json_object_object_add(o, "price", json_object_new_int64(x->price));
	json_object_object_add(o, "status",
	    json_object_new_string(model_res_state_name(state)));
	add_time(o, "expiresAt", x->expires);
	add_time(o, "createdAt", x->created);
	add_time(o, "updatedAt", x->updated);
	add_hex_uuid(o, "paymentId", x->pay);
	add_time(o, "refundedAt", x->refunded);
	json_object_object_add(o, "refundAmount", x->refunded[0] != '\0' ?
	    json_object_new_int64(x->refund) : NULL);
	return o;
}

/*
 * The caller's reservation rid as JSON into *out: 1 found, 0 not found
 * (or another user's), -1 on a database error.
 */
static int
res_read(const unsigned char rid[16], const unsigned char user[16],
    json_object **out)
{
	struct res_row x;
	int rc;

	if (db_exec(st_res_get, "uu", rid, user) < 0)
		return -1;
	rc = res_fetch(st_res_get, &x);
	db_done(st_res_get);
	if (rc == 1)
		*out = res_json(&x);
	return rc;
}

static void
not_found(struct api_ctx *c)
{
	http_error(c->w, 404, "RESERVATION_NOT_FOUND", "no such reservation");
}

int
api_res_get(struct api_ctx *c)
{
	json_object *o;
	int rc;

	rc = res_read(c->p->v[P_PATH_RESERVATION_ID].u, c->p->v[P_USER_ID].u,
	    &o);
	if (rc < 0)
		return -1;
	if (rc == 0)
		not_found(c);
	else
		http_json(c->w, 200, o);
	return 0;
}

/* The page parameters: limit and the sort key to start below. */
static void
page_params(struct api_ctx *c, long long *limit, const char **ctime,
    const unsigned char **cid)
{
	*limit = c->p->v[P_LIMIT].present ? c->p->v[P_LIMIT].i :
	    BOOKING_LIMIT_DEFAULT;
	if (c->p->v[P_CURSOR].present) {
		*ctime = c->p->v[P_CURSOR].s;
		*cid = c->p->v[P_CURSOR].u;
	} else {
		*ctime = CURSOR_FIRST_TIME;
		*cid = cursor_first_id;
	}
}

/* Answer {"items": a, "nextCursor": cursor or null}. */
static void
page_answer(struct api_ctx *c, json_object *a, int more, const char *cursor)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "items", a);
	json_object_object_add(o, "nextCursor",
	    more ? json_object_new_string(cursor) : NULL);
	http_json(c->w, 200, o);
}

int
api_res_list(struct api_ctx *c)
{
	const unsigned char *cid;
	const char *ctime;
	char cursor[VALIDATE_CURSOR_LEN + 1] = "";
	long long limit, n = 0;
	struct res_row x;
	json_object *a;
	int rc;

	page_params(c, &limit, &ctime, &cid);
	/* One row more than the page: whether there is a next one. */
	if (db_exec(st_res_list, "ussui", c->p->v[P_USER_ID].u, ctime, ctime,
	    cid, limit + 1) < 0)
		return -1;
	a = json_object_new_array();
	while ((rc = res_fetch(st_res_list, &x)) == 1) {
		if (++n > limit)
			break;
		json_object_array_add(a, res_json(&x));
		cursor_text(x.ctime, x.id, cursor, sizeof(cursor));
	}
	db_done(st_res_list);
	if (rc < 0) {
		json_object_put(a);
		return -1;
	}
	page_answer(c, a, n > limit, cursor);
	return 0;
}

int
api_pay_list(struct api_ctx *c)
{
	const unsigned char *cid;
	const char *ctime;
	char cursor[VALIDATE_CURSOR_LEN + 1] = "";
	char created[40], refunded[40], date[16], ct[24];
	unsigned char pid[16], rid[16];
	long long limit, n = 0, amount, seat;
	json_object *a;
	int rc;

	page_params(c, &limit, &ctime, &cid);
	if (db_exec(st_pay_list, "ussui", c->p->v[P_USER_ID].u, ctime, ctime,
	    cid, limit + 1) < 0)
		return -1;
	a = json_object_new_array();
	while ((rc = db_fetch(st_pay_list, "uuisssis", pid, rid, &amount,
	    created, sizeof(created), refunded, sizeof(refunded), date,
	    sizeof(date), &seat, ct, sizeof(ct))) == 1) {
		json_object *o;

		if (++n > limit)
			break;
		o = json_object_new_object();
		add_uuid(o, "paymentId", pid);
		add_uuid(o, "reservationId", rid);
		json_object_object_add(o, "amount", json_object_new_int64(amount));
		json_object_object_add(o, "status", json_object_new_string(
		    refunded[0] != '\0' ? "REFUNDED" : "PAID"));
		add_time(o, "createdAt", created);
		add_time(o, "refundedAt", refunded);
		json_object_object_add(o, "date", date[0] != '\0' ?
		    json_object_new_string(date) : NULL);
		json_object_object_add(o, "seatNumber", seat > 0 ?
		    json_object_new_int64(seat) : NULL);
		json_object_array_add(a, o);
		cursor_text(ct, pid, cursor, sizeof(cursor));
	}
	db_done(st_pay_list);
	if (rc < 0) {
		json_object_put(a);
		return -1;
	}
	page_answer(c, a, n > limit, cursor);
	return 0;
}

/* The locked reservation of a release or a cancel. */
struct locked {
	long long concert;
	char date[16];
	long long seat, state;
};

/*
 * Lock the caller's reservation, then its seat (the payment path's
 * order).  0 locked, 1 when w was set (404: none, or another user's), -1
 * on a database error.
 */
static int
lock_own(struct api_ctx *c, const unsigned char *rid,
    const unsigned char *user, struct locked *l)
{
	unsigned char owner[16];
	long long seat_state;
	int rc;

	if (db_exec(st_lock, "u", rid) < 0)
		return -1;
	rc = db_fetch(st_lock, "uisii", owner, &l->concert, l->date,
	    sizeof(l->date), &l->seat, &l->state);
	db_done(st_lock);
	if (rc < 0)
		return -1;
	if (rc == 0 || memcmp(owner, user, 16) != 0) {
		not_found(c);
		return 1;
	}
	/* Seat rows are never deleted while a reservation points at them;
	 * an absent one makes the seat UPDATE below match nothing. */
	if (db_exec(st_seat_lock, "isi", l->concert, l->date, l->seat) < 0 ||
	    db_fetch(st_seat_lock, "i", &seat_state) < 0)
		return -1;
	db_done(st_seat_lock);
	return 0;
}

/* Put the seat of l back on sale: it must be in state `from` for rid.
 * 0, or -1 (a database error, or the seat is not the reservation's: the
 * rows disagree, which must roll everything back). */
static int
seat_free(const struct locked *l, int from, const unsigned char *rid)
{
	long long n;

	if ((n = db_exec(st_seat_free, "isiiu", l->concert, l->date, l->seat,
	    (long long)from, rid)) < 0)
		return -1;
	if (n != 1) {
		log_error("seat %lld on %s of concert %lld is not %s by its "
		    "reservation", l->seat, l->date, l->concert,
		    model_seat_state_name(from));
		return -1;
	}
	return 0;
}

/* The final answer of a release or a cancel: the reservation as it is
 * now (in this transaction). */
static int
answer_row(struct api_ctx *c, const unsigned char *rid,
    const unsigned char *user)
{
	json_object *o;
	int rc;

	if ((rc = res_read(rid, user, &o)) != 1)
		return -1;      /* locked by us: it cannot have gone */
	http_json(c->w, 200, o);
	return 0;
}

int
api_res_release(struct api_ctx *c)
{
	const unsigned char *rid = c->p->v[P_PATH_RESERVATION_ID].u;
	const unsigned char *user = c->p->v[P_USER_ID].u;
	struct locked l;
	struct event *e;
	long long n;
	int rc;

	if ((rc = lock_own(c, rid, user, &l)) != 0)
		return rc < 0 ? -1 : 0;
	switch ((enum res_state)l.state) {
	case RES_RELEASED:
		return answer_row(c, rid, user);        /* idempotent */
	case RES_CONFIRMED:
		http_error(c->w, 409, "ALREADY_PAID", "the reservation is paid;"
		    " cancel it with POST /api/v1/reservations/{id}/cancel");
		return 0;
	case RES_CANCELLED:
		http_error(c->w, 409, "RESERVATION_CANCELLED",
		    "the reservation was cancelled");
		return 0;
	case RES_HELD:
		break;
	case RES_EXPIRED:
	default:
		http_error(c->w, 409, "RESERVATION_EXPIRED",
		    "the hold has expired; the seat is no longer held");
		return 0;
	}
	/* HELD: still live?  The deadline is part of the UPDATE. */
	if ((n = db_exec(st_release, "u", rid)) < 0)
		return -1;
	if (n == 0) {
		http_error(c->w, 409, "RESERVATION_EXPIRED",
		    "the hold has expired; the seat is no longer held");
		return 0;
	}
	if (seat_free(&l, SEAT_HELD, rid) == -1 ||
	    answer_row(c, rid, user) == -1)
		return -1;
	if ((e = api_event(c, EVENT_RESERVATION_RELEASED)) != NULL) {
		memcpy(e->reservation, rid, 16);
		memcpy(e->user, user, 16);
		snprintf(e->date, sizeof(e->date), "%.10s", l.date);
		e->seat = l.seat;
	}
	return 0;
}

int
api_res_cancel(struct api_ctx *c)
{
	const unsigned char *rid = c->p->v[P_PATH_RESERVATION_ID].u;
	const unsigned char *user = c->p->v[P_USER_ID].u;
	unsigned char pid[16];
	long long n, amount;
	struct locked l;
	struct event *e;
	int rc;

	if ((rc = lock_own(c, rid, user, &l)) != 0)
		return rc < 0 ? -1 : 0;
	if (l.state == RES_CANCELLED)
		return answer_row(c, rid, user);        /* idempotent */
	if (l.state != RES_CONFIRMED) {
		http_error(c->w, 409, "RESERVATION_NOT_PAID",
		    "only a paid reservation can be cancelled; release a hold"
		    " with DELETE /api/v1/reservations/{id}");
		return 0;
	}
	/* The payment row is locked here, after the seat: every writer of
	 * it holds the reservation's lock first. */
	if ((n = db_exec(st_refund_mark, "usi", rid, l.date,
	    (long long)c->cfg->refund_cutoff_hours)) < 0)
		return -1;
	if (n == 0) {
		http_error(c->w, 409, "REFUND_CLOSED",
		    "refunds close %ld hours before the concert on %s",
		    c->cfg->refund_cutoff_hours, l.date);
		return 0;
	}
	if (db_exec(st_pay_read, "u", rid) < 0 ||
	    db_fetch(st_pay_read, "ui", pid, &amount) != 1)
		return -1;
	db_done(st_pay_read);
	if (db_exec(st_credit, "iu", amount, user) != 1 ||
	    db_exec(st_ledger, "uiu", user, amount, pid) != 1 ||
	    seat_free(&l, SEAT_SOLD, rid) == -1 ||
	    db_exec(st_cancel, "u", rid) != 1 ||
	    answer_row(c, rid, user) == -1)
		return -1;
	if ((e = api_event(c, EVENT_RESERVATION_CANCELLED)) != NULL) {
		memcpy(e->reservation, rid, 16);
		memcpy(e->user, user, 16);
		memcpy(e->payment, pid, 16);
		e->amount = amount;
		snprintf(e->date, sizeof(e->date), "%.10s", l.date);
		e->seat = l.seat;
	}
	return 0;
}
