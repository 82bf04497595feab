/* Unit tests: event (the wire vocabulary: names, building, parsing). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <string.h>

#include "event.h"

static const char *const UID = "123e4567-e89b-12d3-a456-426614174000";
static const char *const RID = "00000000-0000-4000-8000-000000000001";
static const char *const PID = "ffffffff-0000-4000-8000-00000000abcd";

static char *
to_string(const struct event *ev)
{
	json_object *o = event_json(ev);
	char *s;

	cr_assert_not_null(o);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* A fully built event of each type, with a fixed "at". */
static void
sample(struct event *ev, enum event_type type)
{
	event_init(ev, type);
	strcpy(ev->at, "2030-01-02T03:04:05.678Z");
	util_uuid_parse(UID, ev->user);
	util_uuid_parse(RID, ev->reservation);
	util_uuid_parse(PID, ev->payment);
	ev->amount = 50000;
	strcpy(ev->date, "2030-05-01");
	ev->seat = 17;
	strcpy(ev->expires_at, "2030-01-02T03:09:05.678Z");
	ev->seq = 42;
	ev->reason = type == EVENT_SEAT_RELEASED ? EVENT_REASON_EXPIRED :
	    EVENT_REASON_PAID;
}

Test(event_names, every_type_round_trips_its_name)
{
	int t;

	for (t = EVENT_UNKNOWN + 1; t < EVENT__MAX; t++)
		cr_assert_eq(event_type_parse(event_type_name(t)), t,
		    "type %d '%s'", t, event_type_name(t));
}

Test(event_names, the_wire_names)
{
	cr_assert_str_eq(event_type_name(EVENT_TOKEN_ISSUED), "token.issued");
	cr_assert_str_eq(event_type_name(EVENT_TOKEN_RELEASED), "token.released");
	cr_assert_str_eq(event_type_name(EVENT_TOKEN_ADMITTED), "token.admitted");
	cr_assert_str_eq(event_type_name(EVENT_TOKEN_LAPSED), "token.lapsed");
	cr_assert_str_eq(event_type_name(EVENT_SEAT_HELD), "seat.held");
	cr_assert_str_eq(event_type_name(EVENT_PAYMENT_COMPLETED),
	    "payment.completed");
	cr_assert_str_eq(event_type_name(EVENT_SEAT_RELEASED), "seat.released");
	cr_assert_str_eq(event_type_name(EVENT_RESERVATION_RELEASED),
	    "reservation.released");
	cr_assert_str_eq(event_type_name(EVENT_RESERVATION_CANCELLED),
	    "reservation.cancelled");
	cr_assert_str_eq(event_reason_name(EVENT_REASON_PAID), "paid");
	cr_assert_str_eq(event_reason_name(EVENT_REASON_LEFT), "left");
	cr_assert_str_eq(event_reason_name(EVENT_REASON_EXPIRED), "expired");
}

Test(event_names, outside_the_table)
{
	cr_assert_str_eq(event_type_name(EVENT_UNKNOWN), "unknown");
	cr_assert_str_eq(event_type_name(EVENT__MAX), "unknown");
	cr_assert_str_eq(event_type_name(-3), "unknown");
	cr_assert_eq(event_type_parse("seat.Held"), EVENT_UNKNOWN);
	cr_assert_eq(event_type_parse(""), EVENT_UNKNOWN);
	cr_assert_str_eq(event_reason_name(EVENT_REASON_NONE), "");
	cr_assert_str_eq(event_reason_name(EVENT_REASON__MAX), "");
}

Test(event_names, token_events_go_to_the_queue_topic)
{
	cr_assert_eq(event_topic(EVENT_TOKEN_ISSUED), EVENTS_QUEUE);
	cr_assert_eq(event_topic(EVENT_TOKEN_RELEASED), EVENTS_QUEUE);
	cr_assert_eq(event_topic(EVENT_TOKEN_ADMITTED), EVENTS_QUEUE);
	cr_assert_eq(event_topic(EVENT_TOKEN_LAPSED), EVENTS_QUEUE);
	cr_assert_eq(event_topic(EVENT_SEAT_HELD), EVENTS_RESERVATIONS);
	cr_assert_eq(event_topic(EVENT_PAYMENT_COMPLETED), EVENTS_RESERVATIONS);
	cr_assert_eq(event_topic(EVENT_SEAT_RELEASED), EVENTS_RESERVATIONS);
	cr_assert_eq(event_topic(EVENT_RESERVATION_RELEASED),
	    EVENTS_RESERVATIONS);
	cr_assert_eq(event_topic(EVENT_RESERVATION_CANCELLED),
	    EVENTS_RESERVATIONS);
}

Test(event_build, init_sets_type_fields_and_at)
{
	struct event ev;
	int64_t ms;

	event_init(&ev, EVENT_SEAT_HELD);
	cr_assert_eq(ev.type, EVENT_SEAT_HELD);
	cr_assert_eq(ev.fields, EVENT_F_RESERVATION | EVENT_F_USER |
	    EVENT_F_DATE | EVENT_F_SEAT | EVENT_F_EXPIRES);
	cr_assert_eq(event_parse_iso(ev.at, &ms), 0, "at '%s'", ev.at);
}

/* The payloads as README "Events" documents them, fields in one order. */
struct shape { enum event_type type; char json[400]; };

ParameterizedTestParameters(event_build, payload_shapes)
{
	static struct shape shapes[] = {
		{ EVENT_TOKEN_ISSUED, "{\"type\":\"token.issued\","
		    "\"userId\":\"123e4567-e89b-12d3-a456-426614174000\","
		    "\"seq\":42,\"at\":\"2030-01-02T03:04:05.678Z\"}" },
		{ EVENT_TOKEN_RELEASED, "{\"type\":\"token.released\","
		    "\"userId\":\"123e4567-e89b-12d3-a456-426614174000\","
		    "\"seq\":42,\"reason\":\"paid\","
		    "\"at\":\"2030-01-02T03:04:05.678Z\"}" },
		{ EVENT_TOKEN_ADMITTED, "{\"type\":\"token.admitted\","
		    "\"userId\":\"123e4567-e89b-12d3-a456-426614174000\","
		    "\"seq\":42,\"at\":\"2030-01-02T03:04:05.678Z\"}" },
		{ EVENT_TOKEN_LAPSED, "{\"type\":\"token.lapsed\","
		    "\"userId\":\"123e4567-e89b-12d3-a456-426614174000\","
		    "\"seq\":42,\"at\":\"2030-01-02T03:04:05.678Z\"}" },
		{ EVENT_SEAT_HELD, "{\"type\":\"seat.held\","
		    "\"reservationId\":\"00000000-0000-4000-8000-000000000001\","
		    "\"userId\":\"123e4567-e89b-12d3-a456-426614174000\","
		    "\"date\":\"2030-05-01\",\"seatNumber\":17,"
		    "\"expiresAt\":\"2030-01-02T03:09:05.678Z\","
		    "\"at\":\"2030-01-02T03:04:05.678Z\"}" },
		{ EVENT_PAYMENT_COMPLETED, "{\"type\":\"payment.completed\","
		    "\"reservationId\":\"00000000-0000-4000-8000-000000000001\","
		    "\"userId\":\"123e4567-e89b-12d3-a456-426614174000\","
		    "\"paymentId\":\"ffffffff-0000-4000-8000-00000000abcd\","
		    "\"amount\":50000,\"date\":\"2030-05-01\",\"seatNumber\":17,"
		    "\"at\":\"2030-01-02T03:04:05.678Z\"}" },
		{ EVENT_SEAT_RELEASED, "{\"type\":\"seat.released\","
		    "\"reservationId\":\"00000000-0000-4000-8000-000000000001\","
		    "\"date\":\"2030-05-01\",\"seatNumber\":17,"
		    "\"reason\":\"expired\",\"at\":\"2030-01-02T03:04:05.678Z\"}" },
		{ EVENT_RESERVATION_RELEASED, "{\"type\":\"reservation.released\","
		    "\"reservationId\":\"00000000-0000-4000-8000-000000000001\","
		    "\"userId\":\"123e4567-e89b-12d3-a456-426614174000\","
		    "\"date\":\"2030-05-01\",\"seatNumber\":17,"
		    "\"at\":\"2030-01-02T03:04:05.678Z\"}" },
		{ EVENT_RESERVATION_CANCELLED, "{\"type\":\"reservation.cancelled\","
		    "\"reservationId\":\"00000000-0000-4000-8000-000000000001\","
		    "\"userId\":\"123e4567-e89b-12d3-a456-426614174000\","
		    "\"paymentId\":\"ffffffff-0000-4000-8000-00000000abcd\","
		    "\"amount\":50000,\"date\":\"2030-05-01\",\"seatNumber\":17,"
		    "\"at\":\"2030-01-02T03:04:05.678Z\"}" },
	};
	return cr_make_param_array(struct shape, shapes,
	    sizeof(shapes) / sizeof(shapes[0]));
}

ParameterizedTest(struct shape *sh, event_build, payload_shapes)
{
	struct event ev;
	char *s;

	sample(&ev, sh->type);
	s = to_string(&ev);
	cr_assert_str_eq(s, sh->json);
	free(s);
}

ParameterizedTestParameters(event_parse, round_trips)
{
	static enum event_type types[] = {
		EVENT_TOKEN_ISSUED, EVENT_TOKEN_RELEASED, EVENT_TOKEN_ADMITTED,
		EVENT_TOKEN_LAPSED, EVENT_SEAT_HELD, EVENT_PAYMENT_COMPLETED,
		EVENT_SEAT_RELEASED, EVENT_RESERVATION_RELEASED,
		EVENT_RESERVATION_CANCELLED,
	};
	return cr_make_param_array(enum event_type, types,
	    sizeof(types) / sizeof(types[0]));
}

/* Whatever a worker or the consumer builds, event_parse gives back: the
 * type, exactly the type's fields, and their values. */
ParameterizedTest(enum event_type *t, event_parse, round_trips)
{
	struct event in, out;
	char *s;

	sample(&in, *t);
	s = to_string(&in);
	cr_assert_eq(event_parse(s, strlen(s), &out), 0, "%s", s);
	free(s);
	cr_assert_eq(out.type, in.type);
	cr_assert_str_eq(out.type_name, event_type_name(in.type));
	cr_assert_eq(out.fields, in.fields);
	cr_assert_str_eq(out.at, in.at);
	if (in.fields & EVENT_F_USER)
		cr_assert_arr_eq(out.user, in.user, 16);
	if (in.fields & EVENT_F_RESERVATION)
		cr_assert_arr_eq(out.reservation, in.reservation, 16);
	if (in.fields & EVENT_F_PAYMENT)
		cr_assert_arr_eq(out.payment, in.payment, 16);
	if (in.fields & EVENT_F_AMOUNT)
		cr_assert_eq(out.amount, in.amount);
	if (in.fields & EVENT_F_DATE)
		cr_assert_str_eq(out.date, in.date);
	if (in.fields & EVENT_F_SEAT)
		cr_assert_eq(out.seat, in.seat);
	if (in.fields & EVENT_F_EXPIRES) {
		cr_assert_str_eq(out.expires_at, in.expires_at);
		cr_assert_eq(out.expires_ms, 1893553745678LL);
	}
	if (in.fields & EVENT_F_SEQ)
		cr_assert_eq(out.seq, in.seq);
	if (in.fields & EVENT_F_REASON)
		cr_assert_eq(out.reason, in.reason);
}

Test(event_build, key_is_user_on_queue_and_reservation_elsewhere)
{
	struct event ev;
	char key[UUID_STR_LEN];

	sample(&ev, EVENT_TOKEN_ADMITTED);
	event_key(&ev, key);
	cr_assert_str_eq(key, UID);
	sample(&ev, EVENT_PAYMENT_COMPLETED);
	event_key(&ev, key);
	cr_assert_str_eq(key, RID);
}

/* The consumer's view of a seat.held: what it needs to remember the
 * deadline, from a payload as the worker writes it. */
Test(event_parse, seat_held_gives_the_deadline)
{
	const char *p = "{\"type\":\"seat.held\",\"reservationId\":"
	    "\"00000000-0000-4000-8000-000000000001\",\"expiresAt\":"
	    "\"2024-07-03T12:24:56.789Z\",\"at\":\"2024-07-03T12:19:56.789Z\"}";
	unsigned char rid[16];
	struct event ev;

	cr_assert_eq(event_parse(p, strlen(p), &ev), 0);
	cr_assert_eq(ev.type, EVENT_SEAT_HELD);
	cr_assert_eq(ev.fields, EVENT_F_RESERVATION | EVENT_F_EXPIRES);
	util_uuid_parse(RID, rid);
	cr_assert_arr_eq(ev.reservation, rid, 16);
	cr_assert_eq(ev.expires_ms, 1720009496789LL);
}

Test(event_parse, malformed_fields_are_left_out)
{
	const char *p = "{\"type\":\"seat.held\",\"reservationId\":\"nope\","
	    "\"expiresAt\":\"tomorrow\",\"seatNumber\":\"7\",\"date\":"
	    "\"2024-02-30\",\"userId\":12,\"reason\":\"bored\",\"seq\":3}";
	struct event ev;

	cr_assert_eq(event_parse(p, strlen(p), &ev), 0);
	cr_assert_eq(ev.type, EVENT_SEAT_HELD);
	cr_assert_eq(ev.fields, EVENT_F_SEQ);
	cr_assert_eq(ev.seq, 3);
}

Test(event_parse, unknown_type_keeps_its_name)
{
	const char *p = "{\"type\":\"seat.painted\",\"seq\":1}";
	struct event ev;

	cr_assert_eq(event_parse(p, strlen(p), &ev), 0);
	cr_assert_eq(ev.type, EVENT_UNKNOWN);
	cr_assert_str_eq(ev.type_name, "seat.painted");
}

struct bad_payload { char s[64]; };

ParameterizedTestParameters(event_parse, rejects_what_is_not_an_event)
{
	static struct bad_payload bad[] = {
		{ "" }, { "not json" }, { "[1,2]" }, { "\"seat.held\"" },
		{ "{}" }, { "{\"type\":7}" }, { "{\"type\":null}" },
		{ "{\"type\":\"seat.held\"" }, { "{\"Type\":\"seat.held\"}" },
	};
	return cr_make_param_array(struct bad_payload, bad,
	    sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct bad_payload *b, event_parse, rejects_what_is_not_an_event)
{
	struct event ev;

	cr_assert_eq(event_parse(b->s, strlen(b->s), &ev), -1, "accepted '%s'",
	    b->s);
}

Test(event_parse, length_bounds_the_input)
{
	const char *p = "{\"type\":\"token.issued\"}trailing";
	struct event ev;

	cr_assert_eq(event_parse(p, strlen("{\"type\":\"token.issued\"}"), &ev), 0);
	cr_assert_eq(ev.type, EVENT_TOKEN_ISSUED);
}

struct iso_case { char s[40]; long long ms; };

ParameterizedTestParameters(event_iso, accepts)
{
	static struct iso_case ok[] = {
		{ "2024-07-03T12:24:56.789Z", 1720009496789LL },
		{ "2024-07-03T12:24:56Z", 1720009496000LL },
		{ "2024-07-03 12:24:56.7", 1720009496700LL },
		{ "2024-07-03T12:24:56.789123+00:00", 1720009496789LL },
		{ "1970-01-01T00:00:00.000Z", 0 },
	};
	return cr_make_param_array(struct iso_case, ok, sizeof(ok) / sizeof(ok[0]));
}

ParameterizedTest(struct iso_case *c, event_iso, accepts)
{
	int64_t ms = -1;

	cr_assert_eq(event_parse_iso(c->s, &ms), 0, "'%s'", c->s);
	cr_assert_eq(ms, c->ms, "'%s': %lld", c->s, (long long)ms);
}

ParameterizedTestParameters(event_iso, rejects)
{
	static struct iso_case bad[] = {
		{ "", 0 }, { "2024-07-03", 0 }, { "2024-07-03T12:24:56.Z", 0 },
		{ "2024-13-03T12:24:56Z", 0 }, { "2024-07-03T24:00:00Z", 0 },
		{ "2024-07-03T12:24:56+02:00", 0 }, { "2024-07-03X12:24:56Z", 0 },
		{ "2024-7-03T12:24:56Z", 0 },
	};
	return cr_make_param_array(struct iso_case, bad, sizeof(bad) / sizeof(bad[0]));
}

ParameterizedTest(struct iso_case *c, event_iso, rejects)
{
	int64_t ms;

	cr_assert_eq(event_parse_iso(c->s, &ms), -1, "accepted '%s'", c->s);
}

Test(event_list, grows_without_a_limit_and_clears)
{
	struct event_list l = { NULL, 0, 0 };
	struct event *e;
	int i;

	for (i = 0; i < 100; i++) {
		cr_assert_not_null(e = event_list_add(&l, EVENT_TOKEN_ADMITTED));
		e->seq = i;
	}
	cr_assert_eq(l.n, 100);
	for (i = 0; i < 100; i++)
		cr_assert_eq(l.v[i].seq, i);
	cr_assert_eq(l.v[99].type, EVENT_TOKEN_ADMITTED);
	event_list_clear(&l);
	cr_assert_eq(l.n, 0);
	event_list_free(&l);
	cr_assert_null(l.v);
}
