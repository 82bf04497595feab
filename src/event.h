/*
 * event: the wire vocabulary between the workers and the consumer, and
 * the shape of one message.  Every event is built and parsed here, from
 * one table: a type's name, its topic, its key and its fields, so that
 * type, at and each field are written once (README "Events").
 * events.h is the producer that sends them.
 *
 *   struct event *e = event_list_add(&c->events, EVENT_SEAT_HELD);
 *   if (e != NULL) { memcpy(e->reservation, rid, 16); ... }
 *
 * A payload is a JSON object {"type", <the type's fields>, "at"}; the
 * fields appear in one fixed order whatever the type.
 */
#ifndef CONCERT_EVENT_H
#define CONCERT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util.h"

/* The Kafka topics, by role (events_topic_name() gives the full name). */
enum events_topic { EVENTS_QUEUE = 0, EVENTS_RESERVATIONS = 1, EVENTS__MAX };

enum event_type {
	EVENT_UNKNOWN = 0,          /* parsed: a type not in the table */
	EVENT_TOKEN_ISSUED,         /* worker: a new token joined the line */
	EVENT_TOKEN_RELEASED,       /* worker: token left (DELETE) or paid out */
	EVENT_TOKEN_ADMITTED,       /* consumer: WAITING -> ACTIVE */
	EVENT_TOKEN_LAPSED,         /* consumer: ACTIVE past its ttl */
	EVENT_SEAT_HELD,            /* worker: a seat hold */
	EVENT_PAYMENT_COMPLETED,    /* worker: a hold was paid */
	EVENT_SEAT_RELEASED,        /* consumer: a hold expired */
	EVENT_RESERVATION_RELEASED, /* worker: its owner let a hold go early
	                             * (DELETE /reservations/{id}); the seat
	                             * was freed in the same transaction */
	EVENT_RESERVATION_CANCELLED, /* worker: a paid seat was cancelled and
	                             * refunded; the seat is free again */
	EVENT__MAX
};

enum event_reason {
	EVENT_REASON_NONE = 0,
	EVENT_REASON_PAID,          /* token.released: the last hold was paid */
	EVENT_REASON_LEFT,          /* token.released: DELETE /token */
	EVENT_REASON_EXPIRED,       /* seat.released: the hold ran out */
	EVENT_REASON__MAX
};

/* The fields (bits of struct event.fields), in payload order. */
#define EVENT_F_RESERVATION 0x001   /* "reservationId" */
#define EVENT_F_USER        0x002   /* "userId" */
#define EVENT_F_PAYMENT     0x004   /* "paymentId" */
#define EVENT_F_AMOUNT      0x008   /* "amount" */
#define EVENT_F_DATE        0x010   /* "date" */
#define EVENT_F_SEAT        0x020   /* "seatNumber" */
#define EVENT_F_EXPIRES     0x040   /* "expiresAt" */
#define EVENT_F_SEQ         0x080   /* "seq" */
#define EVENT_F_REASON      0x100   /* "reason" */

struct event {
	enum event_type type;
	unsigned fields;            /* EVENT_F_*: the type's (event_init) or
	                             * the valid ones found (event_parse) */
	char at[ISO_TIME_LEN];
	unsigned char reservation[16];
	unsigned char user[16];
	unsigned char payment[16];
	long long amount;
	char date[11];              /* YYYY-MM-DD */
	long long seat;
	char expires_at[ISO_TIME_LEN];
	int64_t expires_ms;         /* expires_at in epoch ms (event_parse) */
	long long seq;
	enum event_reason reason;
	char type_name[65];         /* event_parse: the "type" as received
	                             * (truncated), for logs of unknown types */
};

/* Events collected by one request or one consumer pass, sent after the
 * commit.  No fixed limit. */
struct event_list {
	struct event *v;
	size_t n, cap;
};

/* "seat.held"; "unknown" outside the table. */
const char *event_type_name(int type);

/* The type named s, or EVENT_UNKNOWN. */
enum event_type event_type_parse(const char *s);

/* "paid"; "" for EVENT_REASON_NONE or outside the table. */
const char *event_reason_name(int reason);

/* Topic of a type (EVENTS_QUEUE for token.*, else EVENTS_RESERVATIONS). */
enum events_topic event_topic(enum event_type type);

/* Zero ev, set its type, the type's fields and at = now. */
void event_init(struct event *ev, enum event_type type);

/* The payload of ev (a new object), or NULL if out of memory. */
json_object *event_json(const struct event *ev);

/* The message key of ev: userId on the queue topic, reservationId on the
 * reservations topic. */
void event_key(const struct event *ev, char out[UUID_STR_LEN]);

/*
 * Parse a payload into ev.  0 when it is a JSON object with a string
 * "type" (ev->type may still be EVENT_UNKNOWN); -1 otherwise.  A field
 * that is missing, of the wrong JSON type or malformed (UUID, date, ISO
 * time) is left out of ev->fields: the caller checks what it needs.
 */
int event_parse(const char *buf, size_t len, struct event *ev);

/* ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff...]Z" (also with a space for 'T',
 * "+00:00" for 'Z', or no zone) to epoch ms.  0 / -1. */
int event_parse_iso(const char *s, int64_t *ms);

/* Append an event of type (event_init) and return it for the caller to
 * fill, or NULL if out of memory (logged; the event is lost, which the
 * consumer's sweep tolerates). */
struct event *event_list_add(struct event_list *l, enum event_type type);

/* Forget the events (keeps the memory), e.g. after a rollback. */
void event_list_clear(struct event_list *l);

/* Free the memory. */
void event_list_free(struct event_list *l);

#endif
