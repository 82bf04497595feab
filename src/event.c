/*
 * event: see event.h.
 */
#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const struct {
	const char *name;
	enum events_topic topic;    /* its key: userId or reservationId */
	unsigned fields;
} types[EVENT__MAX] = {
	[EVENT_TOKEN_ISSUED] = { "token.issued", EVENTS_QUEUE,
	    EVENT_F_USER | EVENT_F_SEQ },
	[EVENT_TOKEN_RELEASED] = { "token.released", EVENTS_QUEUE,
	    EVENT_F_USER | EVENT_F_SEQ | EVENT_F_REASON },
	[EVENT_TOKEN_ADMITTED] = { "token.admitted", EVENTS_QUEUE,
	    EVENT_F_USER | EVENT_F_SEQ },
	[EVENT_TOKEN_LAPSED] = { "token.lapsed", EVENTS_QUEUE,
	    EVENT_F_USER | EVENT_F_SEQ },
	[EVENT_SEAT_HELD] = { "seat.held", EVENTS_RESERVATIONS,
	    EVENT_F_RESERVATION | EVENT_F_USER | EVENT_F_DATE | EVENT_F_SEAT |
	    EVENT_F_EXPIRES },
	[EVENT_PAYMENT_COMPLETED] = { "payment.completed", EVENTS_RESERVATIONS,
	    EVENT_F_RESERVATION | EVENT_F_USER | EVENT_F_PAYMENT |
	    EVENT_F_AMOUNT | EVENT_F_DATE | EVENT_F_SEAT },
	[EVENT_SEAT_RELEASED] = { "seat.released", EVENTS_RESERVATIONS,
	    EVENT_F_RESERVATION | EVENT_F_DATE | EVENT_F_SEAT | EVENT_F_REASON },
	[EVENT_RESERVATION_RELEASED] = { "reservation.released",
	    EVENTS_RESERVATIONS,
	    EVENT_F_RESERVATION | EVENT_F_USER | EVENT_F_DATE | EVENT_F_SEAT },
	/* amount: what was refunded (the payment's amount). */
	[EVENT_RESERVATION_CANCELLED] = { "reservation.cancelled",
	    EVENTS_RESERVATIONS,
	    EVENT_F_RESERVATION | EVENT_F_USER | EVENT_F_PAYMENT |
	    EVENT_F_AMOUNT | EVENT_F_DATE | EVENT_F_SEAT },
};

static const char *const reasons[EVENT_REASON__MAX] = {
	[EVENT_REASON_PAID] = "paid",
	[EVENT_REASON_LEFT] = "left",
	[EVENT_REASON_EXPIRED] = "expired",
};

enum field_kind { FK_UUID, FK_INT, FK_DATE, FK_ISO, FK_REASON };

/* One row per field, in payload order; off is its member of struct event. */
static const struct {
	unsigned bit;
	const char *name;
	enum field_kind kind;
	size_t off;
} fields[] = {
	{ EVENT_F_RESERVATION, "reservationId", FK_UUID,
	    offsetof(struct event, reservation) },
	{ EVENT_F_USER, "userId", FK_UUID, offsetof(struct event, user) },
	{ EVENT_F_PAYMENT, "paymentId", FK_UUID, offsetof(struct event, payment) },
	{ EVENT_F_AMOUNT, "amount", FK_INT, offsetof(struct event, amount) },
	{ EVENT_F_DATE, "date", FK_DATE, offsetof(struct event, date) },
	{ EVENT_F_SEAT, "seatNumber", FK_INT, offsetof(struct event, seat) },
	{ EVENT_F_EXPIRES, "expiresAt", FK_ISO,
	    offsetof(struct event, expires_at) },
	{ EVENT_F_SEQ, "seq", FK_INT, offsetof(struct event, seq) },
	{ EVENT_F_REASON, "reason", FK_REASON, offsetof(struct event, reason) },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

const char *
event_type_name(int type)
{
	return type > EVENT_UNKNOWN && type < EVENT__MAX ? types[type].name :
	    "unknown";
}

enum event_type
event_type_parse(const char *s)
{
	int i;

	for (i = EVENT_UNKNOWN + 1; i < EVENT__MAX; i++)
		if (strcmp(s, types[i].name) == 0)
			return (enum event_type)i;
	return EVENT_UNKNOWN;
}

const char *
event_reason_name(int reason)
{
	return reason > EVENT_REASON_NONE && reason < EVENT_REASON__MAX ?
	    reasons[reason] : "";
}

static enum event_reason
reason_parse(const char *s)
{
	int i;

	for (i = EVENT_REASON_NONE + 1; i < EVENT_REASON__MAX; i++)
		if (strcmp(s, reasons[i]) == 0)
			return (enum event_reason)i;
	return EVENT_REASON_NONE;
}

enum events_topic
event_topic(enum event_type type)
{
	return type > EVENT_UNKNOWN && type < EVENT__MAX ? types[type].topic :
	    EVENTS_RESERVATIONS;
}

void
event_init(struct event *ev, enum event_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	if (type > EVENT_UNKNOWN && type < EVENT__MAX)
		ev->fields = types[type].fields;
	util_now_iso(ev->at, sizeof(ev->at));
}

json_object *
event_json(const struct event *ev)
{
	json_object *o;
	char uuid[UUID_STR_LEN];
	size_t i;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	json_object_object_add(o, "type",
	    json_object_new_string(event_type_name(ev->type)));
	for (i = 0; i < NFIELDS; i++) {
		const void *p = (const char *)ev + fields[i].off;
		json_object *v = NULL;

		if (!(ev->fields & fields[i].bit))
			continue;
		switch (fields[i].kind) {
		case FK_UUID:
			util_uuid_format(p, uuid);
			v = json_object_new_string(uuid);
			break;
		case FK_INT:
			v = json_object_new_int64(*(const long long *)p);
			break;
		case FK_DATE:
		case FK_ISO:
			v = json_object_new_string(p);
			break;
		case FK_REASON:
			v = json_object_new_string(event_reason_name(
			    *(const enum event_reason *)p));
			break;
		}
		json_object_object_add(o, fields[i].name, v);
	}
	json_object_object_add(o, "at", json_object_new_string(ev->at));
	return o;
}

void
event_key(const struct event *ev, char out[UUID_STR_LEN])
{
	util_uuid_format(event_topic(ev->type) == EVENTS_QUEUE ? ev->user :
	    ev->reservation, out);
}

/* Copy string s into dst (len bytes) if it fits.  0 / -1. */
static int
copy_str(char *dst, size_t len, const char *s)
{
	size_t n = strlen(s);

	if (n >= len)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

/* Parse field row i from v into ev.  0 valid / -1. */
static int
parse_field(size_t i, json_object *v, struct event *ev)
{
	void *p = (char *)ev + fields[i].off;
	const char *s = NULL;

	if (fields[i].kind == FK_INT) {
		if (!json_object_is_type(v, json_type_int))
			return -1;
		*(long long *)p = (long long)json_object_get_int64(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	switch (fields[i].kind) {
	case FK_UUID:
		return util_uuid_parse(s, p);
	case FK_DATE:
		if (util_date_valid(s) == -1)
			return -1;
		return copy_str(p, sizeof(ev->date), s);
	case FK_ISO:
		if (event_parse_iso(s, &ev->expires_ms) == -1)
			return -1;
		/* The deadline is expires_ms; the text is for logs only. */
		snprintf(p, sizeof(ev->expires_at), "%s", s);
		return 0;
	case FK_REASON:
		return (*(enum event_reason *)p = reason_parse(s)) ==
		    EVENT_REASON_NONE ? -1 : 0;
	case FK_INT:
		break;
	}
	return -1;
}

int
event_parse(const char *buf, size_t len, struct event *ev)
{
	json_tokener *tok;
	json_object *o = NULL, *v;
	size_t i;
	int rc = -1;

	memset(ev, 0, sizeof(*ev));
	if (len == 0 || len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return -1;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "type", &v) ||
	    !json_object_is_type(v, json_type_string))
		goto out;
	snprintf(ev->type_name, sizeof(ev->type_name), "%s",
	    json_object_get_string(v));
	ev->type = event_type_parse(json_object_get_string(v));
	if (json_object_object_get_ex(o, "at", &v) &&
	    json_object_is_type(v, json_type_string))
		copy_str(ev->at, sizeof(ev->at), json_object_get_string(v));
	for (i = 0; i < NFIELDS; i++)
		if (json_object_object_get_ex(o, fields[i].name, &v) &&
		    parse_field(i, v, ev) == 0)
			ev->fields |= fields[i].bit;
	rc = 0;
out:
	if (o != NULL)
		json_object_put(o);
	return rc;
}

int
event_parse_iso(const char *s, int64_t *ms)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0, frac = 0, digits = 0;
	const char *p;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
	    &sec, &n) != 6 || n != 19)
		return -1;
	p = s + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 && *p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*ms = (int64_t)t * 1000 + frac;
	return 0;
}

struct event *
event_list_add(struct event_list *l, enum event_type type)
{
	struct event *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL) {
			log_warn("event '%s' dropped: out of memory",
			    event_type_name(type));
			return NULL;
		}
		l->v = v;
		l->cap = cap;
	}
	v = &l->v[l->n++];
	event_init(v, type);
	return v;
}

void
event_list_clear(struct event_list *l)
{
	l->n = 0;
}

void
event_list_free(struct event_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
