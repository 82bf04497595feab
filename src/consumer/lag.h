/*
 * lag: this consumer instance's lag in the consumer_status table, which
 * /metrics reads (one row per instance, named "host:pid").
 */
#ifndef CONCERT_CONSUMER_LAG_H
#define CONCERT_CONSUMER_LAG_H

#include <librdkafka/rdkafka.h>

/* Name the instance and declare the statements (before db_connect).
 * 0 / -1. */
int lag_init(void);

/*
 * Publish the lag (high watermark minus position, summed over the assigned
 * partitions).  The high watermarks are the ones the last fetches brought:
 * no broker round trip.  Best effort: a failure only leaves the gauge
 * stale (logged at debug).
 */
void lag_report(rd_kafka_t *rk);

/* Delete this instance's row (at a clean stop). */
void lag_forget(void);

#endif
