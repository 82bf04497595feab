/*
 * Unit tests: consumer/offsets (at-least-once bookkeeping).  A consumer
 * handle and topic handle are created offline: nothing here talks to a
 * broker (a store on an unassigned partition fails quietly, as after a
 * revoke).
 */
#include <criterion/criterion.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "consumer/offsets.h"

static rd_kafka_t *rk;
static rd_kafka_topic_t *rkt;
static rd_kafka_topic_partition_list_t *pending;

static void
setup(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[256];

	cr_assert_eq(rd_kafka_conf_set(conf, "group.id", "unit", err,
	    sizeof(err)), RD_KAFKA_CONF_OK, "%s", err);
	cr_assert_eq(rd_kafka_conf_set(conf, "enable.auto.offset.store",
	    "false", err, sizeof(err)), RD_KAFKA_CONF_OK, "%s", err);
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	cr_assert_not_null(rk, "%s", err);
	rkt = rd_kafka_topic_new(rk, "t.queue", NULL);
	cr_assert_not_null(rkt);
	offsets_init(rk);
	pending = rd_kafka_topic_partition_list_new(8);
}

static void
teardown(void)
{
	rd_kafka_topic_partition_list_destroy(pending);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
}

TestSuite(offsets, .init = setup, .fini = teardown);

static void
done(int partition, int64_t offset, int wait)
{
	rd_kafka_message_t m;

	memset(&m, 0, sizeof(m));
	m.rkt = rkt;
	m.partition = partition;
	m.offset = offset;
	offsets_done(pending, &m, wait);
}

/* The pending resume offset of partition p, or -1 if none. */
static int64_t
waiting(int p)
{
	rd_kafka_topic_partition_t *e =
	    rd_kafka_topic_partition_list_find(pending, "t.queue", p);

	return e == NULL ? -1 : e->offset;
}

Test(offsets, a_message_done_at_once_waits_for_nothing)
{
	done(0, 5, 0);
	cr_assert_eq(pending->cnt, 0);
}

Test(offsets, a_message_waiting_for_the_pass_parks_offset_plus_one)
{
	done(0, 5, 1);
	cr_assert_eq(waiting(0), 6);
	cr_assert_eq(pending->cnt, 1);
}

Test(offsets, later_messages_of_a_waiting_partition_wait_too)
{
	done(0, 5, 1);
	done(0, 6, 0);      /* done, but a commit of 7 would cover 5 */
	cr_assert_eq(waiting(0), 7);
}

Test(offsets, other_partitions_are_not_held_back)
{
	done(0, 5, 1);
	done(1, 9, 0);
	cr_assert_eq(waiting(1), -1);
	cr_assert_eq(waiting(0), 6);
}

Test(offsets, a_redelivered_older_message_never_lowers_the_entry)
{
	done(2, 10, 1);
	done(2, 3, 1);
	cr_assert_eq(waiting(2), 11);
}

Test(offsets, forget_drops_only_the_revoked_partitions)
{
	rd_kafka_topic_partition_list_t *revoked =
	    rd_kafka_topic_partition_list_new(1);

	done(0, 5, 1);
	done(1, 7, 1);
	rd_kafka_topic_partition_list_add(revoked, "t.queue", 0);
	offsets_forget(pending, revoked);
	rd_kafka_topic_partition_list_destroy(revoked);
	cr_assert_eq(waiting(0), -1);
	cr_assert_eq(waiting(1), 8);
}

Test(offsets, storing_on_an_unassigned_partition_is_harmless)
{
	done(0, 5, 1);
	offsets_store(pending);     /* __STATE per entry: logged, not fatal */
	cr_assert_eq(waiting(0), 6);
}
