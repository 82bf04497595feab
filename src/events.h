/*
 * events: a Kafka producer: the host's event relay's (relay.h), a worker's
 * when it runs without a master, and the consumer's, which publishes seat
 * releases.  Idempotent producer, delivery-report
 * callback, bounded flush at exit.  Publishing never blocks a request:
 * if the broker is down messages wait in librdkafka's queue (bounded by
 * message.timeout.ms) and events_healthy() turns false.
 *
 * Topics: <prefix>.queue (key: userId) and <prefix>.reservations (key:
 * reservationId).  Payloads are JSON objects with at least "type" and "at",
 * built by event.c from its table; see README "Events".
 */
#ifndef CONCERT_EVENTS_H
#define CONCERT_EVENTS_H

#include <stddef.h>

#include "config.h"
#include "event.h"

/* linger.ms of the producers created after this call (default 5). */
void events_set_linger(int ms);

/* Create the producer (after fork).  0 / -1 with err. */
int events_init(const struct config *cfg, char *err, size_t errlen);

/* Full topic name, e.g. "concert.queue". */
const char *events_topic_name(enum events_topic t);

/* Enqueue one message (copied).  0, or -1 if the local queue refused it
 * (logged; the consumer's sweep repairs what a lost event would have done). */
int events_publish(enum events_topic t, const char *key, const char *json);

/* The same with explicit lengths (payload need not be NUL-terminated). */
int events_produce(enum events_topic t, const char *key, size_t keylen,
    const char *payload, size_t len);

/* Publish ev (event.h) on its type's topic with its key.  0 / -1 as
 * events_publish. */
int events_send(const struct event *ev);

/* Serve delivery reports; cheap, call often. */
void events_poll(void);

/* 1 if the broker answered recently (metadata request; cached ~1s). */
int events_healthy(void);

/* Messages in the producer not yet acknowledged (0 without one). */
int events_outq_len(void);

/* Count of messages that failed delivery since start. */
unsigned long events_failed(void);

/* Flush (at most timeout_ms) and destroy the producer. */
void events_fini(int timeout_ms);

/*
 * Check once that the brokers answer (used at start-up).  Creates and
 * destroys a temporary producer.  0 / -1 with err naming the brokers.
 */
int events_check(const struct config *cfg, char *err, size_t errlen);

/* librdkafka log callback of every handle of both programs: log_kafka(),
 * except that connection failures ("FAIL", repeated on every reconnect
 * while a broker is down) are logged at most once per 10 s. */
struct rd_kafka_s;
void events_log_cb(const struct rd_kafka_s *rk, int level, const char *fac,
    const char *buf);

/* After events_check() failed: 1 if retrying cannot help (librdkafka
 * refused the configuration), 0 if the brokers only did not answer. */
int events_check_fatal(void);

#endif
