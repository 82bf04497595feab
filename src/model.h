/*
 * model: the stored vocabularies of the domain, one enum per state column
 * (seats.state, reservations.state, queue_tokens.state).
 *
 * The numbers are on disk: never renumber one, never reuse a retired one
 * (like redis rdb.h's RDB_TYPE_*).  Each value is written once, as a
 * MODEL_* number; the enum and the SQL literal are both made from it, so
 * C and the statements cannot disagree:
 *
 *   if (state == RES_HELD) ...
 *   db_stmt("UPDATE seats SET state = " SQL_SEAT_SOLD " WHERE ...");
 *
 * The three vocabularies reuse 0/1/2 with different meanings (HELD is 1
 * in seats, 0 in reservations): always name the value.  Event types (the
 * wire vocabulary) are in event.h.
 */
#ifndef CONCERT_MODEL_H
#define CONCERT_MODEL_H

#define MODEL_STR_(v) #v
#define MODEL_STR(v)  MODEL_STR_(v)

/* seats.state.  A HELD seat past hold_expires_at counts as free for
 * everyone (lazy expiry); the consumer tidies it back to FREE. */
#define MODEL_SEAT_FREE 0
#define MODEL_SEAT_HELD 1
#define MODEL_SEAT_SOLD 2
enum seat_state {
	SEAT_FREE = MODEL_SEAT_FREE,
	SEAT_HELD = MODEL_SEAT_HELD,
	SEAT_SOLD = MODEL_SEAT_SOLD,
	SEAT__MAX
};
#define SQL_SEAT_FREE MODEL_STR(MODEL_SEAT_FREE)
#define SQL_SEAT_HELD MODEL_STR(MODEL_SEAT_HELD)
#define SQL_SEAT_SOLD MODEL_STR(MODEL_SEAT_SOLD)

/* reservations.state.  HELD until paid (CONFIRMED), expired, or released
 * early by its owner (RELEASED, DELETE /reservations/{id}); a CONFIRMED
 * one becomes CANCELLED when its owner cancels it and is refunded.
 * RELEASED, EXPIRED and CANCELLED are final: the seat is no longer theirs. */
#define MODEL_RES_HELD      0
#define MODEL_RES_CONFIRMED 1
#define MODEL_RES_EXPIRED   2
#define MODEL_RES_RELEASED  3
#define MODEL_RES_CANCELLED 4
enum res_state {
	RES_HELD = MODEL_RES_HELD,
	RES_CONFIRMED = MODEL_RES_CONFIRMED,
	RES_EXPIRED = MODEL_RES_EXPIRED,
	RES_RELEASED = MODEL_RES_RELEASED,
	RES_CANCELLED = MODEL_RES_CANCELLED,
	RES__MAX
};
#define SQL_RES_HELD      MODEL_STR(MODEL_RES_HELD)
#define SQL_RES_CONFIRMED MODEL_STR(MODEL_RES_CONFIRMED)
#define SQL_RES_EXPIRED   MODEL_STR(MODEL_RES_EXPIRED)
#define SQL_RES_RELEASED  MODEL_STR(MODEL_RES_RELEASED)
#define SQL_RES_CANCELLED MODEL_STR(MODEL_RES_CANCELLED)

/* queue_tokens.state.  WAITING in line, ACTIVE once admitted (until
 * expires_at), EXPIRED when it lapsed, was released or paid out. */
#define MODEL_TOKEN_WAITING 0
#define MODEL_TOKEN_ACTIVE  1
#define MODEL_TOKEN_EXPIRED 2
enum token_state {
	TOKEN_WAITING = MODEL_TOKEN_WAITING,
	TOKEN_ACTIVE = MODEL_TOKEN_ACTIVE,
	TOKEN_EXPIRED = MODEL_TOKEN_EXPIRED,
	TOKEN__MAX
};
#define SQL_TOKEN_WAITING MODEL_STR(MODEL_TOKEN_WAITING)
#define SQL_TOKEN_ACTIVE  MODEL_STR(MODEL_TOKEN_ACTIVE)
#define SQL_TOKEN_EXPIRED MODEL_STR(MODEL_TOKEN_EXPIRED)

/* queue_tokens.end_reason: why a token is EXPIRED (NONE while it is live;
 * also on rows written before the column existed).  The names are the
 * API's "reason" values. */
#define MODEL_TOKEN_END_NONE      0
#define MODEL_TOKEN_END_PAID      1
#define MODEL_TOKEN_END_LEFT      2
#define MODEL_TOKEN_END_LAPSED    3
#define MODEL_TOKEN_END_IDLE      4
#define MODEL_TOKEN_END_UNCLAIMED 5
enum token_end {
	TOKEN_END_NONE = MODEL_TOKEN_END_NONE,
	TOKEN_END_PAID = MODEL_TOKEN_END_PAID,
	TOKEN_END_LEFT = MODEL_TOKEN_END_LEFT,
	TOKEN_END_LAPSED = MODEL_TOKEN_END_LAPSED,
	TOKEN_END_IDLE = MODEL_TOKEN_END_IDLE,
	TOKEN_END_UNCLAIMED = MODEL_TOKEN_END_UNCLAIMED,
	TOKEN_END__MAX
};
#define SQL_TOKEN_END_PAID      MODEL_STR(MODEL_TOKEN_END_PAID)
#define SQL_TOKEN_END_LEFT      MODEL_STR(MODEL_TOKEN_END_LEFT)
#define SQL_TOKEN_END_LAPSED    MODEL_STR(MODEL_TOKEN_END_LAPSED)
#define SQL_TOKEN_END_IDLE      MODEL_STR(MODEL_TOKEN_END_IDLE)
#define SQL_TOKEN_END_UNCLAIMED MODEL_STR(MODEL_TOKEN_END_UNCLAIMED)

/* "paid", "left", "lapsed", "idle", "unclaimed"; NULL for NONE or a
 * value outside the enum. */
const char *model_token_end_name(int reason);

/* Upper-case names ("HELD"; the token's are the API's "status" values),
 * "UNKNOWN" for a value outside the enum. */
const char *model_seat_state_name(int state);
const char *model_res_state_name(int state);
const char *model_token_state_name(int state);

#endif
