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
 * Start without a dependency: MySQL or Kafka not answering at start is a
 * warning, not an exit.  The loop retries MySQL (db_backoff) and probes
 * Kafka (kafka_backoff) until the topics are created and subscribed; until
 * then the sweep admits and expires as soon as MySQL answers.  What
 * retrying cannot fix (MySQL refusing the credentials, database or schema,
 * db_err_deploy(); the broker refusing the topics; a configuration
 * librdkafka rejects) still fails the start with one line.
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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <librdkafka/rdkafka.h>

#include "backoff.h"
#include "clock.h"
#include "config.h"
#include "consumer.h"
#include "db.h"
#include "event.h"
#include "events.h"
#include "kafka.h"
#include "lag.h"
#include "log.h"
#include "offsets.h"
#include "pidfile.h"
#include "sig.h"
#include "util.h"

/* Upper bound of one poll wait: the loop wakes at least this often. */
#define MAIN_POLL_MAX_MS    1000
/* Messages handled before the loop does its database work. */
#define MAIN_DRAIN_MAX      500
/* Due holds expired per loop iteration (keeps polling responsive). */
#define MAIN_EXPIRE_MAX     200
/* Back-off after a database failure: doubles up to the max. */
#define MAIN_BACKOFF_MIN_MS 100
#define MAIN_BACKOFF_MAX_MS 2000
/* Kafka not reached yet (topics not created, not subscribed): probe it
 * this often; one probe waits at most MAIN_KAFKA_PROBE_MS of the loop. */
#define MAIN_KAFKA_BACKOFF_MIN_MS 250
#define MAIN_KAFKA_BACKOFF_MAX_MS 2000
#define MAIN_KAFKA_PROBE_MS 250
/* A hold is expired this long after its deadline, so the database clock
 * (which decides) has surely passed it too. */
#define MAIN_EXPIRE_GRACE_MS 20
/* Period of the lag report to consumer_status. */
#define MAIN_LAG_REPORT_MS  5000

static const int main_signals[] = { SIGTERM, SIGINT, SIGUSR1 };
static const int main_ignored[] = { SIGPIPE };

static struct config cfg;
static rd_kafka_t *rk;
/* Per partition: offset (next to read) that may be stored once the
 * pending admission pass commits. */
static rd_kafka_topic_partition_list_t *pending;
static int need_admit = 1;          /* first pass at start */
static int ready;
static int subscribed;              /* topics created, subscription made */
/* Database work waits this out after a failure. */
static struct backoff db_backoff =
    BACKOFF_INIT(MAIN_BACKOFF_MIN_MS, MAIN_BACKOFF_MAX_MS);
/* The next Kafka probe waits this out while the broker is unreachable. */
static struct backoff kafka_backoff =
    BACKOFF_INIT(MAIN_KAFKA_BACKOFF_MIN_MS, MAIN_KAFKA_BACKOFF_MAX_MS);

/* ---------------------------------------------------------------- helpers */

/* TERM or INT came: stop (the flags stay set). */
static int
stop_requested(void)
{
	return sig_caught(SIGTERM) || sig_caught(SIGINT);
}

/* Record a database failure: later database work waits a growing delay. */
static void
db_failed(void)
{
	backoff_fail(&db_backoff, clock_mono_ms());
}

static void
db_succeeded(void)
{
	backoff_reset(&db_backoff);
}

/* ---------------------------------------------------------------- offsets */

/*
 * The message's effect is done (wait_admit = 0) or will be done by the
 * next admission pass (wait_admit = 1), which is then due.
 */
static void
offset_done(const rd_kafka_message_t *m, int wait_admit)
{
	offsets_done(pending, m, wait_admit);
	if (wait_admit)
		need_admit = 1;
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
	if (!ready && subscribed) {
		ready = 1;
		log_info("consumer ready");
	}
	return 0;
}

/*
 * Create the topics and subscribe, once the broker answers.  A broker that
 * does not answer is not an error (the sweep admits and expires meanwhile;
 * the next probe is after kafka_backoff), nor is a creation that timed out.
 * -1 only when the broker answered and refused (KAFKA_REFUSED) or the
 * subscription failed: fatal at start (a deploy error), logged later.
 */
static int
kafka_setup(char *err, size_t errlen)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t e;
	int rc;

	e = rd_kafka_metadata(rk, 0, NULL, &md, MAIN_KAFKA_PROBE_MS);
	if (md != NULL)
		rd_kafka_metadata_destroy(md);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		if (kafka_backoff.delay_ms == 0)
			log_warn("kafka brokers '%s' unreachable (%s): admitting "
			    "and expiring by the sweep until they answer",
			    cfg.kafka_brokers, rd_kafka_err2str(e));
		backoff_fail(&kafka_backoff, clock_mono_ms());
		return 0;
	}
	if ((rc = kafka_topics_create(rk, &cfg, err, errlen)) != 0) {
		backoff_fail(&kafka_backoff, clock_mono_ms());
		if (rc == KAFKA_REFUSED)
			return -1;
		log_warn("%s (retrying)", err);
		return 0;
	}
	if (kafka_subscribe(rk, err, errlen) == -1) {
		backoff_fail(&kafka_backoff, clock_mono_ms());
		return -1;
	}
	if (kafka_backoff.delay_ms != 0)
		log_info("kafka brokers '%s' answer: subscribed",
		    cfg.kafka_brokers);
	backoff_reset(&kafka_backoff);
	subscribed = 1;
	/* The pass that follows logs "consumer ready". */
	need_admit = 1;
	return 0;
}

/* Partitions are leaving us: last chance to store what waits on a pass for
 * them; if the pass fails the new owner redoes the work. */
static void
on_revoke(const rd_kafka_topic_partition_list_t *parts)
{
	if (need_admit && pending->cnt > 0)
		run_admit();
	offsets_forget(pending, parts);
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
	case EVENT_RESERVATION_RELEASED:
	case EVENT_RESERVATION_CANCELLED:
		/* The worker freed the seat in the same transaction; a
		 * pending expiry of the reservation finds it no longer HELD
		 * and does nothing. */
		break;
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
	int64_t t = MAIN_POLL_MAX_MS, due, wall;

	if (next_sweep - now < t)
		t = next_sweep - now;
	wall = clock_wall_ms();
	if ((due = expire_heap_next()) >= 0 && due - wall < t)
		t = due - wall;
	if (need_admit && t > 0)
		t = 0;
	if (!subscribed && kafka_backoff.until_ms - now < t)
		t = kafka_backoff.until_ms - now;
	/* Nothing database-bound can run before the back-off is over. */
	if (backoff_waiting(&db_backoff, now) &&
	    t < db_backoff.until_ms - now)
		t = db_backoff.until_ms - now;
	if (t > MAIN_POLL_MAX_MS)
		t = MAIN_POLL_MAX_MS;
	return t < 0 ? 0 : (int)t;
}

static void
run_loop(void)
{
	int64_t now = clock_mono_ms(), next_sweep = now, next_lag = now;
	rd_kafka_message_t *m;
	char err[1024];
	int i;

	while (!stop_requested()) {
		if (sig_take(SIGUSR1)) {
			log_reopen();
			log_info("log reopened");
		}
		m = rd_kafka_consumer_poll(rk, poll_timeout(clock_mono_ms(),
		    next_sweep));
		for (i = 0; m != NULL && i < MAIN_DRAIN_MAX &&
		    !stop_requested(); i++) {
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

		now = clock_mono_ms();
		if (!subscribed && !backoff_waiting(&kafka_backoff, now) &&
		    kafka_setup(err, sizeof(err)) == -1)
			log_warn("%s", err);
		if (backoff_waiting(&db_backoff, now))
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
			next_lag = now + MAIN_LAG_REPORT_MS;
			lag_report(rk);
		}
		if (expire_heap_run(clock_wall_ms(), MAIN_EXPIRE_MAX) < 0)
			db_failed();
	}
}

/* ---------------------------------------------------------------- main */

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: concert-consumer [-c FILE] [--verify-draw CONCERT] [-h]\n"
	    "  -c FILE  configuration file (default: $CONCERT_CONF)\n"
	    "  --verify-draw CONCERT\n"
	    "           recompute the concert's pre-queue draw from its seed,\n"
	    "           compare with the seqs given, exit 0 if equal, 1 if not\n"
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

/* --verify-draw CONCERT: one connection, the check, its exit status. */
static int
verify_draw(const char *arg)
{
	char err[1024], *end;
	long long concert = strtoll(arg, &end, 10);
	int rc;

	if (*arg == '\0' || *end != '\0' || concert < 1 || concert > 65535) {
		fprintf(stderr, "concert-consumer: --verify-draw: '%s' is not a "
		    "concert id\n", arg);
		return 2;
	}
	if (db_library_init() == -1)
		return 2;
	db_configure(&cfg);
	if (draw_init() == -1 || db_connect(err, sizeof(err)) == -1) {
		fprintf(stderr, "concert-consumer: %s\n", err);
		return 2;
	}
	rc = draw_verify(concert, stdout);
	db_close();
	return rc == 0 ? 0 : rc == 1 ? 1 : 2;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verify-draw", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *conf_path = getenv("CONCERT_CONF"), *verify = NULL;
	char err[1024];
	int c, rc = 1, db_open = 0, events_open = 0, pid_written = 0;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf_path = optarg;
			break;
		case 'V':
			verify = optarg;
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
	if (verify != NULL)
		return verify_draw(verify);
	if (log_open(cfg.consumer_log_file, "consumer") == -1) {
		fprintf(stderr, "concert-consumer: open log '%s' failed\n",
		    cfg.consumer_log_file);
		return 1;
	}
	log_set_level((enum log_level)cfg.log_level);
	if (sig_catch(main_signals, SIG_COUNT(main_signals)) == -1 ||
	    sig_ignore(main_ignored, SIG_COUNT(main_ignored)) == -1) {
		fatal("sigaction failed");
		return 1;
	}
	if (cfg.consumer_pid_file[0] != '\0') {
		if (pidfile_create(cfg.consumer_pid_file, "concert-consumer",
		    err, sizeof(err)) == -1) {
			fatal(err);
			return 1;
		}
		pid_written = 1;
	}
	pending = rd_kafka_topic_partition_list_new(8);

	if (db_library_init() == -1)
		goto out;
	db_configure(&cfg);
	if (lag_init() == -1 || admit_init() == -1 || draw_init() == -1 ||
	    expire_init() == -1) {
		fatal("statement table setup failed");
		goto out;
	}
	if (db_connect(err, sizeof(err)) == -1) {
		if (db_err_deploy()) {
			fatal(err);
			goto out;
		}
		/* Not a reason to stay down: the loop retries (db_backoff). */
		log_warn("%s: starting degraded, retrying", err);
		db_failed();
	}
	db_open = 1;
	if (events_init(&cfg, err, sizeof(err)) == -1) {
		fatal(err);
		goto out;
	}
	events_open = 1;
	if ((rk = kafka_consumer_new(&cfg, on_revoke, err, sizeof(err))) ==
	    NULL) {
		fatal(err);
		goto out;
	}
	offsets_init(rk);
	if (kafka_setup(err, sizeof(err)) == -1) {
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
	if (need_admit && pending->cnt > 0 &&
	    !backoff_waiting(&db_backoff, clock_mono_ms()))
		run_admit();
	rc = 0;
out:
	if (rk != NULL) {
		kafka_close(rk);
		rk = NULL;
	}
	if (events_open)
		events_fini(5000);
	if (db_open) {
		lag_forget();
		db_close();
	}
	if (pending != NULL)
		rd_kafka_topic_partition_list_destroy(pending);
	expire_fini();
	if (pid_written)
		pidfile_remove(cfg.consumer_pid_file);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
