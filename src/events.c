/*
 * events: see events.h.
 */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "clock.h"
#include "event.h"
#include "log.h"
#include "util.h"

static rd_kafka_t *rk;
static rd_kafka_topic_t *topics[EVENTS__MAX];
static char topic_names[EVENTS__MAX][CONFIG_STR_LEN + 16];
static unsigned long failed;
static int64_t health_checked_ms;
static int health_ok;
static int check_fatal;         /* the last events_check() failure */
static char linger_ms[16] = "5"; /* events_set_linger() */
static unsigned long refused;   /* events_produce() refusals not logged */
static int64_t refused_logged_ms;

/* A broker that is down fails every reconnect: one FAIL line per this. */
#define EVENTS_FAIL_LOG_MS 10000

static pthread_mutex_t fail_log_lock = PTHREAD_MUTEX_INITIALIZER;

void
events_log_cb(const rd_kafka_t *k, int level, const char *fac,
    const char *buf)
{
	static int64_t last_ms = -EVENTS_FAIL_LOG_MS;
	static unsigned long quiet;
	unsigned long n = 0;
	int64_t now;

	if (strcmp(fac, "FAIL") != 0) {
		log_kafka(k, level, fac, buf);
		return;
	}
	/* librdkafka logs from its broker threads. */
	now = clock_mono_ms();
	pthread_mutex_lock(&fail_log_lock);
	if (now - last_ms < EVENTS_FAIL_LOG_MS) {
		quiet++;
		pthread_mutex_unlock(&fail_log_lock);
		return;
	}
	last_ms = now;
	n = quiet;
	quiet = 0;
	pthread_mutex_unlock(&fail_log_lock);
	if (n > 0)
		log_kafka(k, level, "FAIL", "(and more connection failures: "
		    "at most one line per 10 s)");
	log_kafka(k, level, fac, buf);
}

static void
dr_msg_cb(rd_kafka_t *k, const rd_kafka_message_t *m, void *opaque)
{
	if (m->err) {
		failed++;
		log_warn("event delivery to '%s' failed: %s",
		    rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
	}
}

static void
error_cb(rd_kafka_t *k, int err, const char *reason, void *opaque)
{
	/* Transport errors repeat while the broker is down; keep them quiet. */
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
	    err == RD_KAFKA_RESP_ERR__TRANSPORT)
		health_ok = 0;
	log_debug("kafka: %s", reason);
}

/*
 * Reconnect quickly after a broker outage: librdkafka's default back-off
 * grows to reconnect.backoff.max.ms = 10 s, which is how long the event
 * path stayed down after the broker was back.  A 1 s cap means at most
 * one connection attempt per second per broker while it is down.
 */
static const char *const events_conf[][2] = {
	{ "enable.idempotence", "true" },
	{ "message.timeout.ms", "300000" },
	{ "queue.buffering.max.messages", "100000" },
	{ "log.connection.close", "false" },
	{ "reconnect.backoff.ms", "100" },
	{ "reconnect.backoff.max.ms", "1000" },
	{ "retry.backoff.ms", "100" },
};

static rd_kafka_t *
make_producer(const struct config *cfg, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *k;
	size_t i;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg->kafka_brokers,
	    err, errlen) != RD_KAFKA_CONF_OK)
		goto fail;
	for (i = 0; i < sizeof(events_conf) / sizeof(events_conf[0]); i++)
		if (rd_kafka_conf_set(conf, events_conf[i][0],
		    events_conf[i][1], err, errlen) != RD_KAFKA_CONF_OK)
			goto fail;
	if (rd_kafka_conf_set(conf, "linger.ms", linger_ms, err, errlen) !=
	    RD_KAFKA_CONF_OK)
		goto fail;
	rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
	rd_kafka_conf_set_error_cb(conf, error_cb);
	rd_kafka_conf_set_log_cb(conf, events_log_cb);
	if ((k = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen)) == NULL)
		goto fail;
	return k;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

int
events_init(const struct config *cfg, char *err, size_t errlen)
{
	static const char *suffix[EVENTS__MAX] = { "queue", "reservations" };
	int i;

	if ((rk = make_producer(cfg, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < EVENTS__MAX; i++) {
		snprintf(topic_names[i], sizeof(topic_names[i]), "%s.%s",
		    cfg->kafka_topic_prefix, suffix[i]);
		topics[i] = rd_kafka_topic_new(rk, topic_names[i], NULL);
		if (topics[i] == NULL) {
			snprintf(err, errlen, "kafka topic '%s' failed: %s",
			    topic_names[i], rd_kafka_err2str(rd_kafka_last_error()));
			return -1;
		}
	}
	return 0;
}

const char *
events_topic_name(enum events_topic t)
{
	return topic_names[t];
}

void
events_set_linger(int ms)
{
	snprintf(linger_ms, sizeof(linger_ms), "%d", ms);
}

int
events_publish(enum events_topic t, const char *key, const char *json)
{
	return events_produce(t, key, key ? strlen(key) : 0, json,
	    strlen(json));
}

int
events_produce(enum events_topic t, const char *key, size_t keylen,
    const char *payload, size_t len)
{
	if (rk == NULL || (int)t < 0 || (int)t >= EVENTS__MAX)
		return -1;
	if (rd_kafka_produce(topics[t], RD_KAFKA_PARTITION_UA,
	    RD_KAFKA_MSG_F_COPY, (void *)payload, len, key, keylen,
	    NULL) == -1) {
		int64_t now = clock_mono_ms();

		/* A full local queue (a long broker outage) refuses every
		 * event: one line per EVENTS_FAIL_LOG_MS, with the count. */
		failed++;
		refused++;
		if (refused_logged_ms == 0 ||
		    now - refused_logged_ms >= EVENTS_FAIL_LOG_MS) {
			log_warn("event to '%s' not queued: %s (%lu refused "
			    "since the last line; at most one per 10 s)",
			    topic_names[t],
			    rd_kafka_err2str(rd_kafka_last_error()), refused);
			refused_logged_ms = now;
			refused = 0;
		}
		return -1;
	}
	rd_kafka_poll(rk, 0);
	return 0;
}

int
events_send(const struct event *ev)
{
	char key[UUID_STR_LEN];
	json_object *o;
	int rc;

	if ((o = event_json(ev)) == NULL) {
		failed++;
		log_warn("event '%s' not queued: out of memory",
		    event_type_name(ev->type));
		return -1;
	}
	event_key(ev, key);
	rc = events_publish(event_topic(ev->type), key,
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return rc;
}

void
events_poll(void)
{
	if (rk != NULL)
		rd_kafka_poll(rk, 0);
}

int
events_healthy(void)
{
	const struct rd_kafka_metadata *md = NULL;
	int64_t now = clock_mono_ms();

	if (rk == NULL)
		return 0;
	if (now - health_checked_ms < 1000)
		return health_ok;
	health_checked_ms = now;
	health_ok = rd_kafka_metadata(rk, 0, topics[0], &md, 500) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR;
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	return health_ok;
}

int
events_outq_len(void)
{
	return rk != NULL ? rd_kafka_outq_len(rk) : 0;
}

unsigned long
events_failed(void)
{
	return failed;
}

void
events_fini(int timeout_ms)
{
	int i;

	if (rk == NULL)
		return;
	if (rd_kafka_flush(rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
		log_warn("kafka flush left %d event(s) undelivered",
		    rd_kafka_outq_len(rk));
	for (i = 0; i < EVENTS__MAX; i++)
		if (topics[i] != NULL)
			rd_kafka_topic_destroy(topics[i]);
	rd_kafka_destroy(rk);
	rk = NULL;
}

int
events_check(const struct config *cfg, char *err, size_t errlen)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	rd_kafka_t *k;

	check_fatal = 0;
	if ((k = make_producer(cfg, err, errlen)) == NULL) {
		check_fatal = 1;        /* refused configuration */
		return -1;
	}
	e = rd_kafka_metadata(k, 1, NULL, &md, 5000);
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(k);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "kafka brokers '%s' unreachable: %s",
		    cfg->kafka_brokers, rd_kafka_err2str(e));
		return -1;
	}
	return 0;
}

int
events_check_fatal(void)
{
	return check_fatal;
}
