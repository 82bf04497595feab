/*
 * offsets: at-least-once offset bookkeeping of the consumer (see the
 * delivery notes in main.c).
 *
 * An offset is stored (for the auto-commit to write) only once the effect
 * of its message is committed in MySQL.  A message whose effect waits for
 * the next admission pass parks its offset in a "pending" list, and so does
 * every later message of the same partition, because a stored offset
 * covers everything before it.
 */
#ifndef CONCERT_CONSUMER_OFFSETS_H
#define CONCERT_CONSUMER_OFFSETS_H

#include <librdkafka/rdkafka.h>

/* The consumer handle offsets are stored on. */
void offsets_init(rd_kafka_t *rk);

/* Store every entry of l (each holds the offset to resume from, i.e.
 * message offset + 1).  Failures (a partition revoked meanwhile) are only
 * logged at debug: its new owner reprocesses from the last commit. */
void offsets_store(rd_kafka_topic_partition_list_t *l);

/*
 * Message m is handled: its effect is done (wait = 0) or will be done by
 * the next admission pass (wait = 1).  Store its offset now unless it
 * waits or its partition already has an entry in pending; else raise that
 * entry to m's offset + 1.
 */
void offsets_done(rd_kafka_topic_partition_list_t *pending,
    const rd_kafka_message_t *m, int wait);

/* Drop the entries of the given partitions from pending (revoked). */
void offsets_forget(rd_kafka_topic_partition_list_t *pending,
    const rd_kafka_topic_partition_list_t *parts);

#endif
