/*
 * kafka: see kafka.h.
 */
#include "kafka.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "events.h"
#include "log.h"

#define KAFKA_TOPIC_PARTITIONS 4
/* After creating the topics, wait at most this long for the broker's
 * metadata to show them (see kafka_topics_visible). */
#define KAFKA_TOPICS_VISIBLE_MS 5000

static kafka_revoke_fn *kafka_on_revoke;

/* Topic creation refused for a reason that does not pass by itself. */
static int
kafka_err_refused(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
	case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
	case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
		return 1;
	default:
		return 0;
	}
}

void
kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	static int64_t last;
	int64_t now = clock_mono_ms();

	/* Broker-down errors repeat every few ms: one line per 10 s. */
	if (now - last >= 10000) {
		last = now;
		log_warn("kafka error: %s", reason);
	}
}

static void
kafka_log_partitions(const char *what,
    const rd_kafka_topic_partition_list_t *l)
{
	char buf[1024];
	size_t off = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < l->cnt && off < sizeof(buf); i++) {
		n = snprintf(buf + off, sizeof(buf) - off, "%s%s[%d]",
		    i ? " " : "", l->elems[i].topic, (int)l->elems[i].partition);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	log_info("partitions %s: %s", what, l->cnt ? buf : "(none)");
}

static void
kafka_rebalance_cb(rd_kafka_t *k, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	int coop = strcmp(rd_kafka_rebalance_protocol(k), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;

	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		kafka_log_partitions("assigned", parts);
		if (coop)
			e = rd_kafka_incremental_assign(k, parts);
		else
			rd_kafka_assign(k, parts);
		break;
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
		kafka_log_partitions("revoked", parts);
		if (kafka_on_revoke != NULL)
			kafka_on_revoke(parts);
		if (coop)
			e = rd_kafka_incremental_unassign(k, parts);
		else
			rd_kafka_assign(k, NULL);
		break;
	default:
		log_warn("kafka rebalance failed: %s", rd_kafka_err2str(err));
		rd_kafka_assign(k, NULL);
		break;
	}
	if (e != NULL) {
		log_warn("kafka assignment failed: %s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
}

rd_kafka_t *
kafka_consumer_new(const struct config *cfg, kafka_revoke_fn *on_revoke,
    char *err, size_t errlen)
{
	static const char *const kv[][2] = {
		{ "enable.auto.offset.store", "false" },
		{ "enable.auto.commit", "true" },
		{ "auto.commit.interval.ms", "1000" },
		{ "auto.offset.reset", "earliest" },
		/* A killed instance's partitions move within ~10 s. */
		{ "session.timeout.ms", "10000" },
		{ "heartbeat.interval.ms", "1000" },
		{ "log.connection.close", "false" },
		/* Back within ~1 s of the broker (default back-off grows to
		 * 10 s: the event path stayed down that long, issue 9). */
		{ "reconnect.backoff.ms", "100" },
		{ "reconnect.backoff.max.ms", "1000" },
		{ "fetch.error.backoff.ms", "100" },
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *k;
	size_t i;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka_brokers,
	    err, errlen) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "group.id", cfg->consumer_group, err,
	    errlen) != RD_KAFKA_CONF_OK)
		goto fail;
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, errlen) !=
		    RD_KAFKA_CONF_OK)
			goto fail;
	rd_kafka_conf_set_log_cb(conf, events_log_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_rebalance_cb(conf, kafka_rebalance_cb);
	kafka_on_revoke = on_revoke;
	if ((k = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen)) == NULL)
		goto fail;
	/* Serve every callback from rd_kafka_consumer_poll(). */
	rd_kafka_poll_set_consumer(k);
	return k;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/*
 * Do the broker's metadata show both topics with their partitions?  A
 * topic just created may not be in them yet; a subscription made then
 * finds it "not available" and librdkafka looks again only at the next
 * topic.metadata.refresh.interval.ms (5 min).
 */
static int
kafka_topics_visible(rd_kafka_t *rk)
{
	const struct rd_kafka_metadata *md = NULL;
	int i, j, found = 0;

	if (rd_kafka_metadata(rk, 1, NULL, &md, 1000) !=
	    RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	for (i = 0; i < EVENTS__MAX; i++)
		for (j = 0; j < md->topic_cnt; j++)
			if (strcmp(md->topics[j].topic, events_topic_name(i))
			    == 0 && md->topics[j].err ==
			    RD_KAFKA_RESP_ERR_NO_ERROR &&
			    md->topics[j].partition_cnt > 0) {
				found++;
				break;
			}
	rd_kafka_metadata_destroy(md);
	return found == EVENTS__MAX;
}

int
kafka_topics_create(rd_kafka_t *rk, const struct config *cfg, char *err,
    size_t errlen)
{
	rd_kafka_NewTopic_t *nt[EVENTS__MAX] = { NULL };
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	struct timespec nap = { 0, 100 * 1000000L };
	int64_t start;
	size_t n, i;
	int rc = -1;

	for (i = 0; i < EVENTS__MAX; i++) {
		nt[i] = rd_kafka_NewTopic_new(events_topic_name(i),
		    KAFKA_TOPIC_PARTITIONS, 1, err, errlen);
		if (nt[i] == NULL) {
			rc = KAFKA_REFUSED;     /* a topic name it rejects */
			goto out;
		}
	}
	q = rd_kafka_queue_new(rk);
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	if (rd_kafka_AdminOptions_set_operation_timeout(opts, 10000, err,
	    errlen) != RD_KAFKA_RESP_ERR_NO_ERROR)
		goto out;
	rd_kafka_CreateTopics(rk, nt, EVENTS__MAX, opts, q);
	if ((ev = rd_kafka_queue_poll(q, 15000)) == NULL) {
		snprintf(err, errlen, "kafka topic creation on '%s' timed out",
		    cfg->kafka_brokers);
		goto out;
	}
	if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "kafka topic creation on '%s' failed: %s",
		    cfg->kafka_brokers, rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &n);
	for (i = 0; i < n; i++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR &&
		    e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			snprintf(err, errlen, "create kafka topic '%s' failed: %s",
			    rd_kafka_topic_result_name(tr[i]),
			    rd_kafka_topic_result_error_string(tr[i]));
			if (kafka_err_refused(e))
				rc = KAFKA_REFUSED;
			goto out;
		}
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
			log_info("kafka topic '%s' created",
			    rd_kafka_topic_result_name(tr[i]));
	}
	for (start = clock_mono_ms(); !kafka_topics_visible(rk);) {
		if (clock_mono_ms() - start >= KAFKA_TOPICS_VISIBLE_MS) {
			snprintf(err, errlen, "kafka topics created on '%s' "
			    "but not in its metadata yet", cfg->kafka_brokers);
			goto out;
		}
		nanosleep(&nap, NULL);
	}
	rc = 0;
out:
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	if (opts != NULL)
		rd_kafka_AdminOptions_destroy(opts);
	if (q != NULL)
		rd_kafka_queue_destroy(q);
	for (i = 0; i < EVENTS__MAX; i++)
		if (nt[i] != NULL)
			rd_kafka_NewTopic_destroy(nt[i]);
	return rc;
}

int
kafka_subscribe(rd_kafka_t *rk, char *err, size_t errlen)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t e;
	int i;

	l = rd_kafka_topic_partition_list_new(EVENTS__MAX);
	for (i = 0; i < EVENTS__MAX; i++)
		rd_kafka_topic_partition_list_add(l, events_topic_name(i),
		    RD_KAFKA_PARTITION_UA);
	e = rd_kafka_subscribe(rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "kafka subscribe failed: %s",
		    rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

void
kafka_close(rd_kafka_t *rk)
{
	rd_kafka_resp_err_t e = rd_kafka_consumer_close(rk);

	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_warn("kafka consumer close failed: %s", rd_kafka_err2str(e));
	rd_kafka_destroy(rk);
}
