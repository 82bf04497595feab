/*
 * api_reservation: concert dates, seat maps and seat holds.
 *
 * Every date, seat and hold belongs to a concert (issue 12): the
 * request's concertId, or the default concert 1 when it has none, and
 * every statement names it (the seat's primary key is (concert_id,
 * concert_date, seat_number)).  A hold needs a token of the seat's
 * concert: another concert's token is a 403 TOKEN_WRONG_CONCERT, before
 * any row is touched.
 *
 * Availability is computed, never trusted: a seat is available when it is
 * FREE, or HELD with hold_expires_at in the past (lazy expiry), so a seat
 * frees itself at its deadline whether or not the consumer has run.
 *
 * A hold is one conditional UPDATE of the seat row; the affected-row count
 * decides the single winner among any number of concurrent requests.
 * Lock order (shared with payments): seat, user, token, reservation.  The
 * token is read unlocked to authorise, then re-checked under its lock
 * before it is extended: a hold is answered 201 only with an admission
 * that outlives it.
 *
 * Round trips of a successful POST /reservations (asserted by
 * tests/integration/test_round_trips.py; an Idempotency-Key adds idem.c's
 * INSERT + SAVEPOINT + UPDATE):
 *   START TRANSACTION
 *   1 api_auth_active    token lookup (unlocked; a WAITING seq below the
 *                        host's counters costs nothing)
 *   2 st_hold            the conditional UPDATE: one winner per seat
 *   3 st_user_lock       user row lock, returning the hold's deadline and
 *                        price (was a separate SELECT after the hold)
 *   4 still_active       token row lock, admission re-checked
 *   5 st_tok_extend      admission outlives the hold; also records the
 *                        token's first use (claimed_at, was an UPDATE of
 *                        its own in the authorisation); a write, before
 *                        the count, so that Galera serialises one user's
 *                        holds through different nodes (see api_hold)
 *   6 st_live_holds      COUNT under the user and token locks
 *                        (max_holds_per_user)
 *   7 st_res_ins         the reservation row
 *   COMMIT
 * Before: 8 statements, 9 on a token's first use.  A failed hold rolls
 * back, so a claim made by it was never kept: recording it with the
 * extension keeps exactly what was kept before.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "event.h"
#include "model.h"
#include "stmts.h"
#include "util.h"

static struct db_stmt *st_dates, *st_seats, *st_hold, *st_seat_exists,
    *st_user_lock, *st_live_holds, *st_res_ins, *st_tok_extend,
    *st_concert_exists, *st_seats_sec, *st_summary, *st_date_exists;

#define SEAT_AVAILABLE SQL_SEAT_AVAILABLE

int
api_reservation_prepare(void)
{
	st_dates = db_stmt("SELECT DATE_FORMAT(d.concert_date, '%Y-%m-%d')"
	    " FROM concert_dates d WHERE d.concert_id = ?"
	    " AND d.concert_date >= UTC_DATE()"
	    " AND EXISTS (SELECT 1 FROM seats s"
	    "   WHERE s.concert_id = d.concert_id"
	    "   AND s.concert_date = d.concert_date AND " SEAT_AVAILABLE ")"
	    " ORDER BY d.concert_date");
	st_seats = db_stmt("SELECT s.seat_number, s.price, " SEAT_AVAILABLE
	    ", IFNULL(s.section, ''), IFNULL(s.grade, '')"
	    " FROM concert_dates d LEFT JOIN seats s"
	    "   ON s.concert_id = d.concert_id"
	    "   AND s.concert_date = d.concert_date"
	    " WHERE d.concert_id = ? AND d.concert_date = ?"
	    " ORDER BY s.seat_number");
	/* One section's seats: the seats_section index (concert_id,
	 * concert_date, section, ...). */
	st_seats_sec = db_stmt("SELECT s.seat_number, s.price, " SEAT_AVAILABLE
	    ", IFNULL(s.section, ''), IFNULL(s.grade, '')"
	    " FROM concert_dates d LEFT JOIN seats s"
	    "   ON s.concert_id = d.concert_id"
	    "   AND s.concert_date = d.concert_date AND s.section = ?"
	    " WHERE d.concert_id = ? AND d.concert_date = ?"
	    " ORDER BY s.seat_number");
	/* Free seats per section and grade of a date: one scan of the date's
	 * part of seats_section, which covers every column read (no row
	 * lookups), grouped in index order. */
	st_summary = db_stmt("SELECT s.section, s.grade, COUNT(*),"
	    " CAST(SUM(" SEAT_AVAILABLE ") AS SIGNED), MIN(s.price),"
	    " MAX(s.price)"
	    " FROM seats s WHERE s.concert_id = ? AND s.concert_date = ?"
	    " GROUP BY s.section, s.grade ORDER BY s.section, s.grade");
	st_date_exists = db_stmt("SELECT 1 FROM concert_dates"
	    " WHERE concert_id = ? AND concert_date = ?");
	st_concert_exists = db_stmt("SELECT 1 FROM concerts WHERE id = ?");
	st_hold = db_stmt(SQL_HOLD_SEAT);
	st_seat_exists = db_stmt("SELECT concert_date >= UTC_DATE() FROM seats"
	    " WHERE concert_id = ? AND concert_date = ? AND seat_number = ?");
	/* The seat row is ours already (st_hold locked it): only the user
	 * row can be waited on, and the hold's own writes are read back. */
	st_user_lock = db_stmt(SQL_HOLD_USER_LOCK);
	st_live_holds = db_stmt(SQL_HOLD_LIVE);
	st_res_ins = db_stmt(SQL_HOLD_RES_INS);
	/* The admission outlives every hold made under it (+1 s margin), so
	 * a hold can always be paid in time. */
	/* seen_at (used only while WAITING) always changes: the token row is
	 * written by every hold, so that on a Galera cluster two holds of one
	 * user through different nodes conflict at certification (the user
	 * row's FOR UPDATE above locks one node only) and the count of live
	 * holds cannot be raced past max_holds_per_user there either. */
	st_tok_extend = db_stmt(SQL_HOLD_TOK_EXTEND);
	return st_dates && st_seats && st_hold && st_seat_exists &&
	    st_user_lock && st_live_holds && st_res_ins && st_tok_extend &&
	    st_concert_exists && st_seats_sec && st_summary && st_date_exists &&
	    api_concert_prepare() == 0 ? 0 : -1;
}

/* The request's concertId, or the default concert 1. */
static long long
req_concert(const struct api_ctx *c)
{
	return c->p->v[P_CONCERT_ID].present ? c->p->v[P_CONCERT_ID].i : 1;
}

/* Does concert exist?  1 / 0, -1 on a database error. */
static int
concert_exists(long long concert)
{
	long long one;
	int rc;

	if (db_exec(st_concert_exists, "i", concert) < 0)
		return -1;
	rc = db_fetch(st_concert_exists, "i", &one);
	db_done(st_concert_exists);
	return rc;
}

/* A date that has no row: 404, naming the concert when that is what is
 * unknown (the default one always exists). */
static int
date_not_found(struct api_ctx *c, long long concert, const char *date)
{
	int rc;

	if (concert != 1 && (rc = concert_exists(concert)) != 1) {
		if (rc < 0)
			return -1;
		http_error(c->w, 404, "CONCERT_NOT_FOUND", "no concert %lld",
		    concert);
		return 0;
	}
	http_error(c->w, 404, "DATE_NOT_FOUND", "no concert on %s", date);
	return 0;
}

int
api_dates(struct api_ctx *c)
{
	long long concert = req_concert(c);
	json_object *a;
	char date[16];
	int rc, n = 0;

	if (db_exec(st_dates, "i", concert) < 0)
		return -1;
	a = json_object_new_array();
	while ((rc = db_fetch(st_dates, "s", date, sizeof(date))) == 1) {
		json_object_array_add(a, json_object_new_string(date));
		n++;
	}
	if (rc < 0) {
		json_object_put(a);
		return -1;
	}
	/* Nothing on sale: an unknown concert is a 404 (the default one
	 * always exists). */
	if (n == 0 && concert != 1 && (rc = concert_exists(concert)) != 1) {
		json_object_put(a);
		if (rc < 0)
			return -1;
		http_error(c->w, 404, "CONCERT_NOT_FOUND", "no concert %lld",
		    concert);
		return 0;
	}
	http_json(c->w, 200, a);
	return 0;
}

int
api_seats(struct api_ctx *c)
{
	json_object *a;
	long long num, price, avail, concert = req_concert(c);
	const struct param_val *sec = &c->p->v[P_SECTION];
	struct db_stmt *st = sec->present ? st_seats_sec : st_seats;
	char section[24] = "", grade[16] = "";
	int isnull, rc, rows = 0;

	if (sec->present ?
	    db_exec(st, "sis", sec->s, concert, c->p->v[P_DATE].s) < 0 :
	    db_exec(st, "is", concert, c->p->v[P_DATE].s) < 0)
		return -1;
	a = json_object_new_array();
	while ((rc = db_fetch(st, "Niiss", &num, &isnull, &price, &avail,
	    section, sizeof(section), grade, sizeof(grade))) == 1) {
		json_object *o;

		rows++;
		if (isnull)
			continue;       /* a date (or section) without seats */
		o = json_object_new_object();
		json_object_object_add(o, "seatNumber", json_object_new_int64(num));
		json_object_object_add(o, "available",
		    json_object_new_boolean(avail != 0));
		json_object_object_add(o, "price", json_object_new_int64(price));
		if (section[0] != '\0')
			json_object_object_add(o, "section",
			    json_object_new_string(section));
		if (grade[0] != '\0')
			json_object_object_add(o, "grade",
			    json_object_new_string(grade));
		json_object_array_add(a, o);
	}
	if (rc < 0) {
		json_object_put(a);
		return -1;
	}
	if (rows == 0) {
		json_object_put(a);
		return date_not_found(c, concert, c->p->v[P_DATE].s);
	}
	http_json(c->w, 200, a);
	return 0;
}

int
api_seat_summary(struct api_ctx *c)
{
	const char *date = c->p->v[P_DATE].s;
	long long concert = req_concert(c), seats, free_, lo, hi;
	char section[24], grade[16];
	json_object *a;
	int rc, n = 0;

	if (db_exec(st_summary, "is", concert, date) < 0)
		return -1;
	a = json_object_new_array();
	while ((rc = db_fetch(st_summary, "ssiiii", section, sizeof(section),
	    grade, sizeof(grade), &seats, &free_, &lo, &hi)) == 1) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "section", json_object_new_string(section));
		json_object_object_add(o, "grade", json_object_new_string(grade));
		json_object_object_add(o, "seats", json_object_new_int64(seats));
		json_object_object_add(o, "free", json_object_new_int64(free_));
		json_object_object_add(o, "minPrice", json_object_new_int64(lo));
		json_object_object_add(o, "maxPrice", json_object_new_int64(hi));
		json_object_array_add(a, o);
		n++;
	}
	if (rc < 0) {
		json_object_put(a);
		return -1;
	}
	if (n == 0) {
		/* Nothing grouped: a date without seats, or none at all. */
		if (db_exec(st_date_exists, "is", concert, date) < 0) {
			json_object_put(a);
			return -1;
		}
		rc = db_fetch(st_date_exists, "i", &seats);
		db_done(st_date_exists);
		if (rc != 1) {
			json_object_put(a);
			return rc < 0 ? -1 : date_not_found(c, concert, date);
		}
	}
	http_json(c->w, 200, a);
	return 0;
}

int
api_hold(struct api_ctx *c)
{
	const char *date = c->p->v[P_DATE].s;
	long long seat = c->p->v[P_SEAT_NUMBER].i;
	unsigned char user[16], rid[16];
	char rid_s[UUID_STR_LEN], exp[40], iso[ISO_TIME_LEN];
	long long seq, n, future, price, concert = req_concert(c);
	struct event *e;
	json_object *o;
	int rc, unclaimed, tc;

	if ((rc = api_auth_active(c, user, &tc, &seq, &unclaimed)) != 0)
		return rc < 0 ? -1 : 0;
	if (api_token_concert_mismatch(c, tc, (int)concert))
		return 0;
	util_uuid_new(rid);
	if ((n = db_exec(st_hold, "uiuisi", user,
	    (long long)c->cfg->hold_ttl_seconds, rid, concert, date, seat)) < 0)
		return -1;
	if (n == 0) {
		if (db_exec(st_seat_exists, "isi", concert, date, seat) < 0)
			return -1;
		rc = db_fetch(st_seat_exists, "i", &future);
		db_done(st_seat_exists);
		if (rc < 0)
			return -1;
		if (rc == 0)
			http_error(c->w, 404, "SEAT_NOT_FOUND",
			    "no seat %lld on %s", seat, date);
		else if (!future)
			http_error(c->w, 409, "CONCERT_PASSED",
			    "the concert on %s has already taken place", date);
		else
			http_error(c->w, 409, "SEAT_UNAVAILABLE",
			    "seat %lld on %s is not available", seat, date);
		return 0;
	}
	/* The user row lock serialises this user's holds, so the count below
	 * cannot be raced past max_holds_per_user. */
	if (db_exec(st_user_lock, "isiu", concert, date, seat, user) < 0 ||
	    db_fetch(st_user_lock, "si", exp, sizeof(exp), &price) != 1)
		return -1;
	db_done(st_user_lock);
	/* The admission must outlive the hold: if it ended meanwhile, no
	 * hold (its owner could not pay for it).  Re-checked under the token
	 * row's lock and written (extended) before the count: on a Galera
	 * cluster the user row's FOR UPDATE locks one node only, and a
	 * count read before this node took a write lock could miss a hold
	 * of the same user committed through another node in between (5
	 * live holds with a limit of 4 in the cluster pass).  With the write
	 * first, a concurrent hold elsewhere either conflicts with it at
	 * certification (one retries) or was applied here before it, and the
	 * count, a later statement, sees it. */
	if ((rc = api_token_still_active(c, tc, seq, 0)) != 0)
		return rc < 0 ? -1 : 0;
	if (db_exec(st_tok_extend, "iii",
	    (long long)c->cfg->hold_ttl_seconds + 1, concert, seq) < 0)
		return -1;
	if (db_exec(st_live_holds, "u", user) < 0 ||
	    db_fetch(st_live_holds, "i", &n) != 1)
		return -1;
	db_done(st_live_holds);
	if (n >= c->cfg->max_holds_per_user) {
		http_error(c->w, 409, "HOLD_LIMIT_REACHED",
		    "at most %ld seats may be held at once",
		    c->cfg->max_holds_per_user);
		return 0;
	}
	if (db_exec(st_res_ins, "uuisi", rid, user, concert, date, seat) != 1)
		return -1;
	if (util_mysql_to_iso(exp, iso, sizeof(iso)) == -1)
		return -1;
	util_uuid_format(rid, rid_s);
	o = json_object_new_object();
	json_object_object_add(o, "reservationId", json_object_new_string(rid_s));
	json_object_object_add(o, "expiresAt", json_object_new_string(iso));
	json_object_object_add(o, "date", json_object_new_string(date));
	json_object_object_add(o, "seatNumber", json_object_new_int64(seat));
	json_object_object_add(o, "price", json_object_new_int64(price));
	json_object_object_add(o, "concertId", json_object_new_int64(concert));
	http_json(c->w, 201, o);

	if ((e = api_event(c, EVENT_SEAT_HELD)) != NULL) {
		memcpy(e->reservation, rid, 16);
		memcpy(e->user, user, 16);
		snprintf(e->date, sizeof(e->date), "%.10s", date);
		e->seat = seat;
		snprintf(e->expires_at, sizeof(e->expires_at), "%s", iso);
	}
	return 0;
}
