/*
 * kafka: the consumer's librdkafka handle -- its configuration, the topic
 * creation at start, the subscription and the rebalance callback.
 *
 * Every callback (log, error, rebalance) is served from
 * rd_kafka_consumer_poll() in the main loop's thread, so a revoke hook may
 * touch the loop's state and the database.
 */
#ifndef CONCERT_CONSUMER_KAFKA_H
#define CONCERT_CONSUMER_KAFKA_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

/* Called with the partitions being revoked, before they are unassigned:
 * the last moment to store offsets for them. */
typedef void kafka_revoke_fn(const rd_kafka_topic_partition_list_t *parts);

/*
 * A consumer in cfg->consumer_group on cfg->kafka_brokers with manual
 * offset store (enable.auto.offset.store=false) and auto-commit of what is
 * stored; on_revoke may be NULL.  NULL with err set on failure.
 */
rd_kafka_t *kafka_consumer_new(const struct config *cfg,
    kafka_revoke_fn *on_revoke, char *err, size_t errlen);

/* What kafka_topics_create() returns when the broker refused for a reason
 * retrying cannot fix (authorization, replication factor, policy, name). */
#define KAFKA_REFUSED (-2)

/* Create both topics (already existing is success).  0; -1 with err when
 * it may work later (timeout, controller moving); KAFKA_REFUSED with err. */
int kafka_topics_create(rd_kafka_t *rk, const struct config *cfg, char *err,
    size_t errlen);

/* Subscribe to both topics.  0 / -1 with err. */
int kafka_subscribe(rd_kafka_t *rk, char *err, size_t errlen);

/* The error callback (also used for error messages the poll returns):
 * logged at most once per 10 s, as broker-down errors repeat every few ms. */
void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
    void *opaque);

/* rd_kafka_consumer_close (final offset commit) and destroy. */
void kafka_close(rd_kafka_t *rk);

#endif
