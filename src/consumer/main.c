/*
 * concert-consumer: the background worker of the queue and the holds.
 *
 *   concert-consumer [-c FILE] [-h]
 *
 * FILE defaults to $CONCERT_CONF (none: built-in defaults and the
 * CONCERT_<KEY> environment only).  Signals: SIGTERM / SIGINT stop
 * gracefully (final offsets committed, producer flushed), SIGUSR1 reopens
 * the log file.  The line "consumer ready" is logged once the
 * subscription is in place and the first admission pass has committed.
 *
 * Delivery: at-least-once.  enable.auto.offset.store=false and an offset
 * is stored (offset + 1, for the auto-commit to write) only after the
 * effect of its message is committed in MySQL:
 * - queue events (token.issued / token.released) and payment.completed
 *   ask for an admission pass.  Such messages are not handled one
 *   transaction each: the loop drains what is available, runs one pass,
 *   and only then stores the offsets of every message that asked for it.
 *   While a pass cannot run (MySQL down) those offsets stay unstored, and
 *   so do the offsets of every later message of the same partition (an
 *   offset commit covers everything before it); a crash then redelivers
 *   them.  Nothing is skipped and nothing needs a seek.
 * - seat.held only puts the deadline into an in-memory heap; its offset is
 *   stored at once (unless its partition has a pending pass).  The heap
 *   cannot be made durable by an offset (holds last minutes, offsets are
 *   per partition and monotonic); if it is lost (crash, full heap), the
 *   periodic sweep expires those holds from the table, which is why the
 *   sweep exists.
 * - Unknown types and malformed payloads are logged and skipped: a poison
 *   message must not block its partition.
 * Every handler only triggers work that the sweep (every
 * sweep_interval_ms: overdue holds, lapsed admissions, admission, old
 * idempotency keys) also does, and each re-checks its condition in the
 * database, so redelivery and loss are both harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>

#include "config.h"
#include "consumer.h"
#include "db.h"
#include "event.h"
#include "events.h"
#include "log.h"
#include "util.h"

/* Upper bound of one poll wait: the loop wakes at least this often. */
#define MAIN_POLL_MAX_MS    1000
/* Messages handled before the loop does its database work. */
#define MAIN_DRAIN_MAX      500
/* Due holds expired per loop iteration (keeps polling responsive). */
#define MAIN_EXPIRE_MAX     200
/* Back-off after a database failure: doubles up to the max. */
#define MAIN_BACKOFF_MIN_MS 100
#define MAIN_BACKOFF_MAX_MS 5000
/* A hold is expired this long after its deadline, so the database clock
 * (which decides) has surely passed it too. */
#define MAIN_EXPIRE_GRACE_MS 20
#define MAIN_TOPIC_PARTITIONS 4

static volatile sig_atomic_t got_stop, got_reopen;

static struct config cfg;
static rd_kafka_t *rk;
/* Per partition: offset (next to read) that may be stored once the
 * pending admission pass commits. */
static rd_kafka_topic_partition_list_t *pending;
static int need_admit = 1;          /* first pass at start */
static int ready;
static int64_t db_retry_at, db_backoff_ms;
static char pid_path[CONFIG_STR_LEN];

/* ---------------------------------------------------------------- helpers */

int64_t
consumer_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_reopen = 1;
	else
		got_stop = 1;
}

static int
signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal should cut a sleep short. */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

/* Record a database failure: later database work waits a growing delay. */
static void
db_failed(void)
{
	db_backoff_ms = db_backoff_ms == 0 ? MAIN_BACKOFF_MIN_MS :
	    db_backoff_ms * 2;
	if (db_backoff_ms > MAIN_BACKOFF_MAX_MS)
		db_backoff_ms = MAIN_BACKOFF_MAX_MS;
	db_retry_at = util_now_ms() + db_backoff_ms;
}

static void
db_succeeded(void)
{
	db_backoff_ms = 0;
	db_retry_at = 0;
}

/* ---------------------------------------------------------------- pid file */

/* Write our pid to path, refusing if it names a live process.  0 / -1. */
static int
pidfile_create(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			pid = strtol(buf, NULL, 10);
			if (pid > 0 && (kill((pid_t)pid, 0) == 0 ||
			    errno == EPERM)) {
				log_error("pid file '%s' names a live process "
				    "(pid %ld); is another consumer running?",
				    path, pid);
				return -1;
			}
		}
		unlink(path);   /* stale */
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_error("create pid file '%s' failed: %s", path,
		    strerror(errno));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_error("write pid file '%s' failed: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(pid_path, sizeof(pid_path), "%s", path);
	return 0;
}

/* Remove the pid file if it is still ours. */
static void
pidfile_remove(void)
{
	char buf[32];
	ssize_t n;
	int fd;

	if (pid_path[0] == '\0')
		return;
	if ((fd = open(pid_path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		if (strtol(buf, NULL, 10) == (long)getpid())
			unlink(pid_path);
	}
}

/* ---------------------------------------------------------------- offsets */

/* Store offsets for the next auto-commit.  Entries hold the offset to
 * resume from (message offset + 1): rd_kafka_offsets_store() stores
 * .offset as is, unlike the legacy rd_kafka_offset_store(). */
static void
offsets_store(rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_resp_err_t e;
	int i;

	if (l->cnt == 0)
		return;
	e = rd_kafka_offsets_store(rk, l);
	for (i = 0; i < l->cnt; i++) {
		/* __STATE: partition revoked meanwhile; its new owner
		 * reprocesses from the last commit (at-least-once). */
		if (l->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR)
			log_debug("offset store '%s'[%d] %lld failed: %s",
			    l->elems[i].topic, (int)l->elems[i].partition,
			    (long long)l->elems[i].offset,
			    rd_kafka_err2str(l->elems[i].err));
	}
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR && l->cnt > 0)
		log_debug("offsets store failed: %s", rd_kafka_err2str(e));
}

/*
 * The message's effect is done (wait_admit = 0) or will be done by the
 * next admission pass (wait_admit = 1).  Store its offset now when
 * nothing earlier in its partition is waiting, else let it wait too.
 */
static void
offset_done(const rd_kafka_message_t *m, int wait_admit)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	rd_kafka_topic_partition_t *p;
	rd_kafka_topic_partition_list_t *one;

	p = rd_kafka_topic_partition_list_find(pending, topic, m->partition);
	if (wait_admit || p != NULL) {
		if (p == NULL)
			p = rd_kafka_topic_partition_list_add(pending, topic,
			    m->partition);
		if (m->offset + 1 > p->offset)
			p->offset = m->offset + 1;
		if (wait_admit)
			need_admit = 1;
		return;
	}
	one = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(one, topic, m->partition)->offset =
	    m->offset + 1;
	offsets_store(one);
	rd_kafka_topic_partition_list_destroy(one);
}

/* Run the admission pass; on commit release every waiting offset. */
static int
run_admit(void)
{
	if (admit_pass(&cfg, NULL) == -1) {
		db_failed();
		return -1;
	}
	db_succeeded();
	need_admit = 0;
	offsets_store(pending);
	rd_kafka_topic_partition_list_destroy(pending);
	pending = rd_kafka_topic_partition_list_new(8);
	if (!ready) {
		ready = 1;
		log_info("consumer ready");
	}
	return 0;
}

/* ---------------------------------------------------------------- kafka */

static void
kafka_log_cb(const rd_kafka_t *k, int level, const char *fac, const char *buf)
{
	/* syslog levels: 0..3 error, 4 warning, else debug. */
	if (level <= 3)
		log_error("kafka %s: %s", fac, buf);
	else if (level == 4)
		log_warn("kafka %s: %s", fac, buf);
	else
		log_debug("kafka %s: %s", fac, buf);
}

static void
kafka_error_cb(rd_kafka_t *k, int err, const char *reason, void *opaque)
{
	static int64_t last;
	int64_t now = util_now_ms();

	/* Broker-down errors repeat every few ms: one line per 10 s. */
	if (now - last >= 10000) {
		last = now;
		log_warn("kafka error: %s", reason);
	}
}

static void
log_partitions(const char *what, const rd_kafka_topic_partition_list_t *l)
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
rebalance_cb(rd_kafka_t *k, rd_kafka_resp_err_t err,
    rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	int coop = strcmp(rd_kafka_rebalance_protocol(k), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;
	int i;

	switch (err) {
	case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
		log_partitions("assigned", parts);
		if (coop)
			e = rd_kafka_incremental_assign(k, parts);
		else
			rd_kafka_assign(k, parts);
		break;
	case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
		log_partitions("revoked", parts);
		/* Last chance to store what waits on a pass for these
		 * partitions; if it fails the new owner redoes the work. */
		if (need_admit && pending->cnt > 0)
			run_admit();
		for (i = 0; i < parts->cnt; i++)
			rd_kafka_topic_partition_list_del(pending,
			    parts->elems[i].topic, parts->elems[i].partition);
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

static rd_kafka_t *
kafka_consumer_new(char *err, size_t errlen)
{
	static const char *const kv[][2] = {
		{ "enable.auto.offset.store", "false" },
		{ "enable.auto.commit", "true" },
		{ "auto.commit.interval.ms", "1000" },
		{ "auto.offset.reset", "earliest" },
		/* A killed instance's partitions move within ~10 s. */
		{ "session.timeout.ms", "10000" },
		{ "heartbeat.interval.ms", "2000" },
		{ "log.connection.close", "false" },
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *k;
	size_t i;

	if (rd_kafka_conf_set(conf, "bootstrap.servers", cfg.kafka_brokers,
	    err, errlen) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "group.id", cfg.consumer_group, err,
	    errlen) != RD_KAFKA_CONF_OK)
		goto fail;
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, errlen) !=
		    RD_KAFKA_CONF_OK)
			goto fail;
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	if ((k = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen)) == NULL)
		goto fail;
	/* Serve every callback from rd_kafka_consumer_poll(). */
	rd_kafka_poll_set_consumer(k);
	return k;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* Create the two topics (TOPIC_ALREADY_EXISTS is success).  0 / -1. */
static int
kafka_topics_create(char *err, size_t errlen)
{
	rd_kafka_NewTopic_t *nt[EVENTS__MAX] = { NULL };
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	size_t n, i;
	int rc = -1;

	for (i = 0; i < EVENTS__MAX; i++) {
		nt[i] = rd_kafka_NewTopic_new(events_topic_name(i),
		    MAIN_TOPIC_PARTITIONS, 1, err, errlen);
		if (nt[i] == NULL)
			goto out;
	}
	q = rd_kafka_queue_new(rk);
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	if (rd_kafka_AdminOptions_set_operation_timeout(opts, 10000, err,
	    errlen) != RD_KAFKA_RESP_ERR_NO_ERROR)
		goto out;
	rd_kafka_CreateTopics(rk, nt, EVENTS__MAX, opts, q);
	if ((ev = rd_kafka_queue_poll(q, 15000)) == NULL) {
		snprintf(err, errlen, "kafka topic creation on '%s' timed out",
		    cfg.kafka_brokers);
		goto out;
	}
	if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(err, errlen, "kafka topic creation on '%s' failed: %s",
		    cfg.kafka_brokers, rd_kafka_event_error_string(ev));
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
			goto out;
		}
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
			log_info("kafka topic '%s' created",
			    rd_kafka_topic_result_name(tr[i]));
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

static int
kafka_subscribe(char *err, size_t errlen)
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

/* ---------------------------------------------------------------- messages */

/* seat.held: remember its deadline.  0, or -1 if the payload is unusable. */
static int
handle_seat_held(const struct event *ev)
{
	char rid[UUID_STR_LEN];

	if ((ev->fields & (EVENT_F_RESERVATION | EVENT_F_EXPIRES)) !=
	    (EVENT_F_RESERVATION | EVENT_F_EXPIRES))
		return -1;
	if (expire_heap_push(ev->expires_ms + MAIN_EXPIRE_GRACE_MS,
	    ev->reservation) == -1) {
		util_uuid_format(ev->reservation, rid);
		log_debug("deadline heap full, '%s' left to the sweep", rid);
	}
	return 0;
}

static void
handle_message(const rd_kafka_message_t *m)
{
	struct event ev;
	const char *topic;
	int wait_admit = 0;

	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			kafka_error_cb(rk, m->err, rd_kafka_message_errstr(m),
			    NULL);
		return;
	}
	topic = rd_kafka_topic_name(m->rkt);
	if (event_parse(m->payload, m->len, &ev) == -1) {
		log_warn("event skipped, '%s'[%d]@%lld: not a JSON object with "
		    "a \"type\"", topic, (int)m->partition, (long long)m->offset);
		goto done;
	}
	switch (ev.type) {
	case EVENT_TOKEN_ISSUED:
	case EVENT_TOKEN_RELEASED:
	case EVENT_PAYMENT_COMPLETED:
		wait_admit = 1;
		break;
	case EVENT_SEAT_HELD:
		if (handle_seat_held(&ev) == -1)
			log_warn("event skipped, '%s'[%d]@%lld: seat.held without "
			    "a valid reservationId / expiresAt", topic,
			    (int)m->partition, (long long)m->offset);
		break;
	case EVENT_SEAT_RELEASED:
	case EVENT_TOKEN_ADMITTED:
	case EVENT_TOKEN_LAPSED:
		break;          /* our own events come back: nothing to do */
	case EVENT_UNKNOWN:
	case EVENT__MAX:
		log_warn("event skipped, '%s'[%d]@%lld: unknown type '%.64s'",
		    topic, (int)m->partition, (long long)m->offset,
		    ev.type_name);
		break;
	}
done:
	offset_done(m, wait_admit);
}

/* ---------------------------------------------------------------- loop */

static int
poll_timeout(int64_t now, int64_t next_sweep)
{
	int64_t t = MAIN_POLL_MAX_MS, due;

	if (next_sweep - now < t)
		t = next_sweep - now;
	if ((due = expire_heap_next()) >= 0 && due - consumer_wall_ms() < t)
		t = due - consumer_wall_ms();
	if (need_admit && t > 0)
		t = 0;
	/* Nothing database-bound can run before the back-off is over. */
	if (db_retry_at > now && t < db_retry_at - now)
		t = db_retry_at - now;
	if (t > MAIN_POLL_MAX_MS)
		t = MAIN_POLL_MAX_MS;
	return t < 0 ? 0 : (int)t;
}

/* ---------------------------------------------------------- lag report */

#define LAG_REPORT_MS 5000

static struct db_stmt *st_lag, *st_lag_del;
static char lag_instance[128];

/*
 * Publish this instance's lag (high watermark minus position, summed over
 * its assigned partitions) to consumer_status for /metrics.  The high
 * watermarks are the ones the last fetches brought: no broker round trip.
 * Best effort: a failure here only leaves the gauge stale.
 */
static void
lag_report(void)
{
	rd_kafka_topic_partition_list_t *a = NULL;
	long long lag = 0;
	int i;

	if (rd_kafka_assignment(rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return;
	if (rd_kafka_position(rk, a) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (i = 0; i < a->cnt; i++) {
			int64_t lo, hi, pos = a->elems[i].offset;

			if (rd_kafka_get_watermark_offsets(rk, a->elems[i].topic,
			    a->elems[i].partition, &lo, &hi) !=
			    RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0)
				continue;
			if (pos < 0)
				pos = lo;    /* nothing consumed yet here */
			if (hi > pos)
				lag += hi - pos;
		}
	}
	rd_kafka_topic_partition_list_destroy(a);
	if (db_exec(st_lag, "si", lag_instance, lag) < 0)
		log_debug("consumer lag report failed: %s", db_error());
}

static void
run_loop(void)
{
	int64_t now = util_now_ms(), next_sweep = now, next_lag = now;
	rd_kafka_message_t *m;
	int i;

	while (!got_stop) {
		if (got_reopen) {
			got_reopen = 0;
			log_reopen();
			log_info("log reopened");
		}
		m = rd_kafka_consumer_poll(rk, poll_timeout(util_now_ms(),
		    next_sweep));
		for (i = 0; m != NULL && i < MAIN_DRAIN_MAX && !got_stop; i++) {
			handle_message(m);
			rd_kafka_message_destroy(m);
			m = rd_kafka_consumer_poll(rk, 0);
		}
		if (m != NULL) {
			/* Stopping or drained enough: handle this one too so
			 * that no polled message goes unhandled. */
			handle_message(m);
			rd_kafka_message_destroy(m);
		}
		events_poll();

		now = util_now_ms();
		if (now < db_retry_at)
			continue;
		if (now >= next_sweep) {
			next_sweep = now + cfg.sweep_interval_ms;
			/* The pass is part of the sweep; it stays due (and is
			 * retried after the back-off) whatever the sweep did. */
			need_admit = 1;
			if (expire_sweep(&cfg) < 0) {
				db_failed();
				continue;
			}
		}
		if (need_admit && run_admit() == -1)
			continue;
		if (now >= next_lag) {
			next_lag = now + LAG_REPORT_MS;
			lag_report();
		}
		if (expire_heap_run(consumer_wall_ms(), MAIN_EXPIRE_MAX) < 0)
			db_failed();
	}
}

/* ---------------------------------------------------------------- main */

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: concert-consumer [-c FILE] [-h]\n"
	    "  -c FILE  configuration file (default: $CONCERT_CONF)\n"
	    "  -h       this help\n"
	    "signals: TERM/INT stop gracefully, USR1 reopens the log\n");
}

/* A start-up failure: one line in the log, and on stderr if the log is a
 * file, so whoever started us sees it. */
static void
fatal(const char *msg)
{
	log_error("%s", msg);
	if (cfg.consumer_log_file[0] != '\0')
		fprintf(stderr, "concert-consumer: %s\n", msg);
}

int
main(int argc, char **argv)
{
	const char *conf_path = getenv("CONCERT_CONF");
	char err[1024];
	int c, rc = 1, db_open = 0, events_open = 0;

	while ((c = getopt(argc, argv, "c:h")) != -1) {
		switch (c) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(&cfg, conf_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "concert-consumer: %s\n", err);
		return 1;
	}
	if (log_open(cfg.consumer_log_file, "consumer") == -1) {
		fprintf(stderr, "concert-consumer: open log '%s' failed\n",
		    cfg.consumer_log_file);
		return 1;
	}
	if (signals_setup() == -1) {
		fatal("sigaction failed");
		return 1;
	}
	if (cfg.consumer_pid_file[0] != '\0' &&
	    pidfile_create(cfg.consumer_pid_file) == -1) {
		if (cfg.consumer_log_file[0] != '\0')
			fprintf(stderr, "concert-consumer: pid file '%s' "
			    "refused; see the log\n", cfg.consumer_pid_file);
		return 1;
	}
	pending = rd_kafka_topic_partition_list_new(8);

	if (db_library_init() == -1)
		goto out;
	db_configure(&cfg);
	{
		char host[64] = "localhost";

		gethostname(host, sizeof(host) - 1);
		snprintf(lag_instance, sizeof(lag_instance), "%s:%d", host,
		    (int)getpid());
	}
	st_lag = db_stmt("INSERT INTO consumer_status (instance, lag, updated_at)"
	    " VALUES (?, ?, UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE"
	    " lag = VALUES(lag), updated_at = VALUES(updated_at)");
	st_lag_del = db_stmt("DELETE FROM consumer_status WHERE instance = ?");
	if (st_lag == NULL || st_lag_del == NULL ||
	    admit_init() == -1 || expire_init() == -1) {
		fatal("statement table setup failed");
		goto out;
	}
	if (db_connect(err, sizeof(err)) == -1) {
		fatal(err);
		goto out;
	}
	db_open = 1;
	if (events_check(&cfg, err, sizeof(err)) == -1 ||
	    events_init(&cfg, err, sizeof(err)) == -1) {
		fatal(err);
		goto out;
	}
	events_open = 1;
	if ((rk = kafka_consumer_new(err, sizeof(err))) == NULL ||
	    kafka_topics_create(err, sizeof(err)) == -1 ||
	    kafka_subscribe(err, sizeof(err)) == -1) {
		fatal(err);
		goto out;
	}
	log_info("started (group '%s', topics '%s' '%s', cap %ld, "
	    "sweep %ld ms)", cfg.consumer_group,
	    events_topic_name(EVENTS_QUEUE),
	    events_topic_name(EVENTS_RESERVATIONS), cfg.max_active_tokens,
	    cfg.sweep_interval_ms);

	run_loop();

	log_info("stopping");
	/* Store what waits on a pass before the final commit. */
	if (need_admit && pending->cnt > 0 && db_retry_at <= util_now_ms())
		run_admit();
	rc = 0;
out:
	if (rk != NULL) {
		rd_kafka_resp_err_t e = rd_kafka_consumer_close(rk);

		if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
			log_warn("kafka consumer close failed: %s",
			    rd_kafka_err2str(e));
		rd_kafka_destroy(rk);
		rk = NULL;
	}
	if (events_open)
		events_fini(5000);
	if (db_open) {
		db_exec(st_lag_del, "s", lag_instance);
		db_close();
	}
	if (pending != NULL)
		rd_kafka_topic_partition_list_destroy(pending);
	expire_fini();
	pidfile_remove();
	if (rc == 0)
		log_info("stopped");
	return rc;
}
