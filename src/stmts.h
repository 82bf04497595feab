/*
 * stmts: the text of the hot path's statements (a hold, a payment, the
 * token look-up they start with), in one place.
 *
 * The handlers prepare them (src/api_reservation.c, src/api_payment.c,
 * src/api_token.c) and tools/bench/db_bench.c runs the very same texts
 * with no HTTP in front, so "the database alone" in scripts/bench cannot
 * drift from what the workers do (it had: after the catalogue change the
 * bench still ran statements without concert_id, which scanned and
 * deadlocked).  The order they run in is described, and mirrored, at the
 * top of each handler file.  Placeholders are listed with each macro.
 */
#ifndef CONCERT_STMTS_H
#define CONCERT_STMTS_H

#include "model.h"

/* A seat is available when FREE, or HELD past its deadline (lazy
 * expiry): availability is computed, never trusted. */
#define SQL_SEAT_AVAILABLE \
	"(s.state = " SQL_SEAT_FREE " OR (s.state = " SQL_SEAT_HELD \
	" AND s.hold_expires_at <= UTC_TIMESTAMP(3)))"

/* Columns shared by token look-ups: seq, user, state, lapsed?, seconds
 * left, end reason, unclaimed? (admitted claim_seconds ago, never used),
 * claimed?  Binds: claim_seconds twice. */
#define SQL_TOKEN_COLS \
	"t.seq, t.user_id, t.state," \
	" t.expires_at IS NOT NULL AND t.expires_at <= UTC_TIMESTAMP(3)," \
	" IFNULL(CEIL(TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3)," \
	"   t.expires_at) / 1000000), 0), t.end_reason," \
	" t.state = " SQL_TOKEN_ACTIVE " AND t.claimed_at IS NULL AND ? > 0" \
	"   AND t.activated_at <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND," \
	" t.claimed_at IS NOT NULL"

/* (claim_seconds, claim_seconds, concert, seq) */
#define SQL_TOKEN_LOOKUP \
	"SELECT " SQL_TOKEN_COLS ", s.serving_seq," \
	" s.admit_rate, s.max_active_tokens" \
	" FROM queue_tokens t JOIN queue_state s ON s.id = t.concert_id" \
	" WHERE t.concert_id = ? AND t.seq = ?"

/* (concert, seq) */
#define SQL_TOKEN_STILL_ACTIVE \
	"SELECT 1 FROM queue_tokens" \
	" WHERE concert_id = ? AND seq = ?" \
	" AND state = " SQL_TOKEN_ACTIVE " AND expires_at > UTC_TIMESTAMP(3)" \
	" FOR UPDATE"

/* (user, hold seconds, reservation, concert, date, seat) */
#define SQL_HOLD_SEAT \
	"UPDATE seats s SET s.state = " SQL_SEAT_HELD ", s.hold_user = ?," \
	" s.hold_expires_at = UTC_TIMESTAMP(3) + INTERVAL ? SECOND," \
	" s.reservation_id = ?" \
	" WHERE s.concert_id = ? AND s.concert_date = ? AND s.seat_number = ?" \
	" AND s.concert_date >= UTC_DATE() AND " SQL_SEAT_AVAILABLE

/* (concert, date, seat, user) -> deadline, price */
#define SQL_HOLD_USER_LOCK \
	"SELECT DATE_FORMAT(s.hold_expires_at, '%Y-%m-%d %H:%i:%s.%f')," \
	" s.price FROM users u JOIN seats s" \
	" ON s.concert_id = ? AND s.concert_date = ? AND s.seat_number = ?" \
	" WHERE u.id = ? FOR UPDATE"

/* (seconds, concert, seq) */
#define SQL_HOLD_TOK_EXTEND \
	"UPDATE queue_tokens SET expires_at =" \
	" GREATEST(expires_at, UTC_TIMESTAMP(3) + INTERVAL ? SECOND)," \
	" claimed_at = IFNULL(claimed_at, UTC_TIMESTAMP(3))," \
	" seen_at = UTC_TIMESTAMP(3)" \
	" WHERE concert_id = ? AND seq = ? AND state = " SQL_TOKEN_ACTIVE

/* (user) -> live holds */
#define SQL_HOLD_LIVE \
	"SELECT COUNT(*) FROM reservations" \
	" WHERE user_id = ? AND state = " SQL_RES_HELD \
	" AND expires_at > UTC_TIMESTAMP(3)"

/* (reservation, user, concert, date, seat) */
#define SQL_HOLD_RES_INS \
	"INSERT INTO reservations" \
	" (id, user_id, concert_id, concert_date, seat_number, price, state," \
	" expires_at)" \
	" SELECT ?, ?, concert_id, concert_date, seat_number, price, " \
	SQL_RES_HELD ", hold_expires_at" \
	" FROM seats WHERE concert_id = ? AND concert_date = ?" \
	" AND seat_number = ?"

/* (reservation) -> user, date, seat, price, state, concert */
#define SQL_PAY_RES_LOCK \
	"SELECT user_id, DATE_FORMAT(concert_date, '%Y-%m-%d'), seat_number," \
	" price, state, concert_id FROM reservations WHERE id = ? FOR UPDATE"

/* (concert, date, seat) -> state */
#define SQL_PAY_SEAT_LOCK \
	"SELECT state FROM seats" \
	" WHERE concert_id = ? AND concert_date = ? AND seat_number = ?" \
	" FOR UPDATE"

/* (concert, date, seat, reservation, reservation) */
#define SQL_PAY_SELL \
	"UPDATE seats SET state = " SQL_SEAT_SOLD ", hold_expires_at = NULL" \
	" WHERE concert_id = ? AND concert_date = ? AND seat_number = ?" \
	" AND state = " SQL_SEAT_HELD " AND reservation_id = ?" \
	" AND EXISTS (SELECT 1 FROM reservations r WHERE r.id = ?" \
	"   AND r.expires_at > UTC_TIMESTAMP(3))"

/* (amount, user, amount) */
#define SQL_PAY_DEBIT \
	"UPDATE users SET balance = balance - ? WHERE id = ? AND balance >= ?"

/* (user, -amount, payment) */
#define SQL_PAY_LEDGER \
	"INSERT INTO balance_ledger (user_id, delta, kind, ref_id)" \
	" VALUES (?, ?, 'PAYMENT', ?)"

/* (payment, reservation, user, amount) */
#define SQL_PAY_INS \
	"INSERT INTO payments (id, reservation_id, user_id, amount)" \
	" VALUES (?, ?, ?, ?)"

/* (reservation) */
#define SQL_PAY_CONFIRM \
	"UPDATE reservations SET state = " SQL_RES_CONFIRMED \
	", updated_at = UTC_TIMESTAMP(3)" \
	" WHERE id = ? AND state = " SQL_RES_HELD

/* (concert, reservation, user) -> balance, the user's other live holds of
 * the concert */
#define SQL_PAY_BALANCE \
	"SELECT u.balance, (SELECT COUNT(*)" \
	" FROM reservations r WHERE r.user_id = u.id" \
	" AND r.concert_id = ? AND r.state = " SQL_RES_HELD \
	" AND r.expires_at > UTC_TIMESTAMP(3) AND r.id <> ?)" \
	" FROM users u WHERE u.id = ?"

/* (concert, seq) */
#define SQL_PAY_TOK_END \
	"UPDATE queue_tokens SET state = " SQL_TOKEN_EXPIRED \
	", live_user = NULL, expires_at = UTC_TIMESTAMP(3), end_reason = " \
	SQL_TOKEN_END_PAID " WHERE concert_id = ? AND seq = ?" \
	" AND state = " SQL_TOKEN_ACTIVE " AND expires_at > UTC_TIMESTAMP(3)"

#endif
