/*
 * relay: the host's one event producer (issue 10).
 *
 * The master creates the hand-off channel before its first fork: a unix
 * SOCK_DGRAM socketpair.  Workers write one datagram per event on one
 * end, non-blocking (relay_send()); the relay process, forked and
 * restarted by the master like a worker, reads the other end and is the
 * only librdkafka producer of the workers (relay_run()).  The master
 * keeps both ends open for its whole life, so events handed off while the
 * relay restarts (or is replaced on a reload) wait in the socket, in
 * order, for the next relay.  A hand-off the socket refuses (its buffer
 * is full: the relay is down or behind) is counted in the scoreboard
 * (concert_events_handoff_dropped_total) and logged at most once per 10 s
 * for the whole host.
 *
 * Datagram (one event): byte 0 RELAY_FRAME_MAGIC, byte 1 the topic
 * (enum events_topic), bytes 2-3 the key length (big-endian), the key, then
 * the JSON payload up to the end of the datagram.
 *
 * The relay publishes its state in the scoreboard (struct
 * scoreboard_relay): the broker's health from a metadata request about
 * every second (a thread of its own, so a broker that does not answer
 * never stalls the hand-off), the producer's queue length and its delivery
 * failures, which /health and /metrics read.
 */
#ifndef CONCERT_RELAY_H
#define CONCERT_RELAY_H

#include <stddef.h>

#include "config.h"
#include "event.h"

struct metrics_buf;

#define RELAY_FRAME_MAGIC 0xE1
#define RELAY_FRAME_HEAD  4
#define RELAY_FRAME_MAX   16384   /* largest datagram, header included */

/* The relay's linger.ms, measured with scripts/bench (README "Events"):
 * librdkafka sends one partition per produce request and each topic has
 * 4, so batching needs a partition's few events per 10-20 ms to wait
 * together; 10 ms barely batched, 100 ms cut the broker's CPU per hold
 * from 1.2 to 0.14 ms.  The answer to the client never waits for it. */
#define RELAY_LINGER_MS   100

/* One decoded datagram; pointers into the buffer given to decode. */
struct relay_frame {
	enum events_topic topic;
	const char *key;
	size_t key_len;
	const char *payload;
	size_t payload_len;
};

/* Encode into buf (len bytes).  Returns the datagram's length, or 0 when
 * it does not fit (or the topic or key is out of range). */
size_t relay_frame_encode(char *buf, size_t len, enum events_topic topic,
    const char *key, size_t key_len, const char *payload, size_t payload_len);

/* Decode a datagram of n bytes.  0, or -1 if it is malformed. */
int relay_frame_decode(const char *buf, size_t n, struct relay_frame *f);

/* --- master side --- */

/* Create the hand-off channel: fds[0] the relay reads, fds[1] the
 * workers write (non-blocking sends, send buffer as large as the kernel
 * allows).  0, or -1 with err. */
int relay_channel_open(int fds[2], char *err, size_t errlen);

/* The relay process (in the child the master forked; signals arrive
 * blocked as in a worker).  Never returns: _exit(0) after a stop signal
 * once it has drained the channel and flushed the producer (at most
 * shutdown_timeout_seconds), _exit(1) if the producer cannot be made. */
void relay_run(const struct config *cfg, int recv_fd)
    __attribute__((noreturn));

/* --- worker side --- */

/* In a forked worker: hand events to the relay through send_fd. */
void relay_use(int send_fd);

/* 1 after relay_use(): events go to the relay, not to a producer of our
 * own, and the broker's health is the relay's. */
int relay_in_use(void);

/* Hand ev to the relay (never blocks).  0, or -1 when the channel refused
 * it (counted and rate-limited logged). */
int relay_send(const struct event *ev);

/* 1 if a relay runs and its last broker check (within 3 s) answered. */
int relay_healthy(void);

/* Append the relay's metrics (Prometheus text) to b. */
void relay_metrics(struct metrics_buf *b);

#endif
