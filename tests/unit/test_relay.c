/* Unit tests: relay, the hand-off framing and channel of the event relay. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event.h"
#include "relay.h"
#include "scoreboard.h"
#include "util.h"

static const char *KEY = "0b6c2f3e-8d4a-4b8e-9f39-2f1c6f1e8a11";
static const char *JS = "{\"type\":\"RESERVED\",\"at\":\"2026-12-01T00:00:00Z\"}";

Test(relay, frame_round_trip)
{
	char buf[RELAY_FRAME_MAX];
	struct relay_frame f;
	size_t n;

	n = relay_frame_encode(buf, sizeof(buf), EVENTS_RESERVATIONS, KEY,
	    strlen(KEY), JS, strlen(JS));
	cr_assert_eq(n, RELAY_FRAME_HEAD + strlen(KEY) + strlen(JS));
	cr_assert_eq(relay_frame_decode(buf, n, &f), 0);
	cr_assert_eq(f.topic, EVENTS_RESERVATIONS);
	cr_assert_eq(f.key_len, strlen(KEY));
	cr_assert(memcmp(f.key, KEY, f.key_len) == 0);
	cr_assert_eq(f.payload_len, strlen(JS));
	cr_assert(memcmp(f.payload, JS, f.payload_len) == 0);
}

Test(relay, frame_without_key)
{
	char buf[64];
	struct relay_frame f;
	size_t n = relay_frame_encode(buf, sizeof(buf), EVENTS_QUEUE, NULL, 0,
	    "{}", 2);

	cr_assert_eq(relay_frame_decode(buf, n, &f), 0);
	cr_assert_eq(f.key_len, 0);
	cr_assert_eq(f.payload_len, 2);
}

Test(relay, frame_that_does_not_fit_is_refused)
{
	static char big[RELAY_FRAME_MAX];
	char buf[RELAY_FRAME_MAX + 64];

	memset(big, 'x', sizeof(big));
	cr_assert_eq(relay_frame_encode(buf, 16, EVENTS_QUEUE, KEY,
	    strlen(KEY), JS, strlen(JS)), 0);
	cr_assert_eq(relay_frame_encode(buf, sizeof(buf), EVENTS_QUEUE, KEY,
	    strlen(KEY), big, sizeof(big) - RELAY_FRAME_HEAD), 0);
	cr_assert_eq(relay_frame_encode(buf, sizeof(buf), EVENTS__MAX, KEY,
	    strlen(KEY), JS, strlen(JS)), 0);
}

Test(relay, malformed_frames_are_refused)
{
	char buf[RELAY_FRAME_MAX];
	struct relay_frame f;
	size_t n = relay_frame_encode(buf, sizeof(buf), EVENTS_QUEUE, KEY,
	    strlen(KEY), JS, strlen(JS));

	cr_assert_eq(relay_frame_decode(buf, 3, &f), -1);      /* short */
	buf[0] ^= 1;                                           /* magic */
	cr_assert_eq(relay_frame_decode(buf, n, &f), -1);
	buf[0] ^= 1;
	buf[1] = EVENTS__MAX;                                  /* topic */
	cr_assert_eq(relay_frame_decode(buf, n, &f), -1);
	buf[1] = EVENTS_QUEUE;
	buf[2] = (char)0xff;                                   /* key length */
	cr_assert_eq(relay_frame_decode(buf, n, &f), -1);
	buf[2] = 0;
	cr_assert_eq(relay_frame_decode(buf, n, &f), 0);
}

static void
make_event(struct event *ev)
{
	event_init(ev, EVENT_TOKEN_ISSUED);
	cr_assert_eq(util_uuid_parse(KEY, ev->user), 0);
}

/* A worker's send arrives whole on the relay's end, as one datagram. */
Test(relay, send_arrives_as_one_datagram)
{
	char err[256], buf[RELAY_FRAME_MAX];
	struct relay_frame f;
	struct event ev;
	int fds[2];
	ssize_t n;

	cr_assert_eq(relay_channel_open(fds, err, sizeof(err)), 0, "%s", err);
	relay_use(fds[1]);
	cr_assert(relay_in_use());
	make_event(&ev);
	cr_assert_eq(relay_send(&ev), 0);
	n = recv(fds[0], buf, sizeof(buf), MSG_DONTWAIT);
	cr_assert_gt(n, 0);
	cr_assert_eq(relay_frame_decode(buf, (size_t)n, &f), 0);
	cr_assert_eq(f.topic, event_topic(EVENT_TOKEN_ISSUED));
	cr_assert_eq(f.key_len, strlen(KEY));
	cr_assert(memcmp(f.key, KEY, f.key_len) == 0);
	cr_assert_eq(recv(fds[0], buf, sizeof(buf), MSG_DONTWAIT), -1);
}

/* With nobody reading, the channel holds events up to its buffer, then
 * refuses without blocking; each refusal is counted. */
Test(relay, a_full_channel_counts_what_it_refuses)
{
	char err[256];
	struct scoreboard *sb;
	struct event ev;
	int fds[2], i, ok = 0, refused = 0;

	cr_assert_eq(scoreboard_create(err, sizeof(err)), 0, "%s", err);
	sb = scoreboard_get();
	cr_assert_eq(relay_channel_open(fds, err, sizeof(err)), 0, "%s", err);
	relay_use(fds[1]);
	make_event(&ev);
	for (i = 0; i < 200000 && refused < 10; i++) {
		if (relay_send(&ev) == 0)
			ok++;
		else
			refused++;
	}
	cr_assert_eq(refused, 10);
	cr_assert_gt(ok, 100, "the channel held only %d events", ok);
	cr_assert_eq(sb->relay.handoff_dropped, 10);
}
