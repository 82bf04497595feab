/*
 * api_ops: the operator's endpoints, both read from the shared scoreboard
 * (scoreboard.h) so that whichever worker answers reports the whole pool.
 *
 *   GET /api/v1/status  JSON, php-fpm's status page: pool counters and one
 *                       entry per worker.  No database.
 *   GET /metrics        Prometheus text format 0.0.4: the scoreboard's
 *                       counters plus the queue gauges, which cost one
 *                       primary-key read of queue_state and one MAX() on
 *                       the primary key of queue_tokens (never a COUNT of
 *                       waiting rows).  When MySQL is down the queue gauges
 *                       are left out and concert_mysql_up is 0.
 *
 * Both are meant for localhost only: the web server configs allow them
 * from 127.0.0.1 and deny everyone else.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "events.h"
#include "metrics.h"
#include "pm.h"
#include "relay.h"
#include "scoreboard.h"
#include "util.h"

static struct db_stmt *st_queue, *st_lag;

int
api_ops_prepare(void)
{
	/* serving_seq is the highest admitted seq and admission goes in seq
	 * order, so everything above it is waiting or left the line: an O(1)
	 * upper bound of the waiting count. */
	st_queue = db_stmt("SELECT GREATEST(COALESCE((SELECT MAX(seq) FROM "
	    "queue_tokens WHERE concert_id = 1), 0) - serving_seq, 0),"
	    " active_count, admit_rate, "
	    "admitted_total, expired_total, idle_total, unclaimed_total,"
	    " max_active_tokens FROM queue_state WHERE id = 1");
	/* Each consumer instance refreshes its row every 5 s; a row older
	 * than 30 s belongs to an instance that is gone. */
	st_lag = db_stmt("SELECT COALESCE(SUM(lag), 0), COUNT(*)"
	    " FROM consumer_status"
	    " WHERE updated_at > UTC_TIMESTAMP(3) - INTERVAL 30 SECOND");
	return st_queue != NULL && st_lag != NULL ? 0 : -1;
}

/* Counts of the pool's live workers by state. */
struct api_ops_counts {
	long workers, idle, busy, starting, exiting;
};

static void
api_ops_count(struct api_ops_counts *n)
{
	struct scoreboard *sb = scoreboard_get();
	struct scoreboard_view v;
	int i, used;

	memset(n, 0, sizeof(*n));
	if (sb == NULL)
		return;
	used = __atomic_load_n(&sb->pool.slots_used, __ATOMIC_RELAXED);
	for (i = 0; i < used; i++) {
		if (scoreboard_read(i, &v) == -1)
			continue;
		n->workers++;
		switch (v.state) {
		case SCOREBOARD_IDLE:
			if (v.retiring)
				n->exiting++;
			else
				n->idle++;
			break;
		case SCOREBOARD_BUSY:
			n->busy++;
			break;
		case SCOREBOARD_STARTING:
			n->starting++;
			break;
		default:
			n->exiting++;
			break;
		}
	}
}

static json_object *
api_ops_int(long long v)
{
	return json_object_new_int64(v);
}

int
api_status(struct api_ctx *c)
{
	struct scoreboard *sb = scoreboard_get();
	struct api_ops_counts n;
	struct scoreboard_view v;
	json_object *o, *pool, *workers;
	char started[64];
	long qlen, qmax;
	int64_t now;
	int i, used;

	if (sb == NULL) {
		http_error(c->w, 500, "INTERNAL",
		    "the scoreboard is not available in this process");
		return 0;
	}
	now = scoreboard_now_ms();
	api_ops_count(&n);
	o = json_object_new_object();
	pool = json_object_new_object();
	workers = json_object_new_array();

	json_object_object_add(pool, "workers", api_ops_int(n.workers));
	json_object_object_add(pool, "configuredWorkers", api_ops_int(
	    __atomic_load_n(&sb->pool.workers_wanted, __ATOMIC_RELAXED)));
	json_object_object_add(pool, "idle", api_ops_int(n.idle));
	json_object_object_add(pool, "busy", api_ops_int(n.busy));
	json_object_object_add(pool, "starting", api_ops_int(n.starting));
	json_object_object_add(pool, "exiting", api_ops_int(n.exiting));
	json_object_object_add(pool, "acceptedRequests", api_ops_int(
	    (long long)__atomic_load_n(&sb->pool.accepted, __ATOMIC_RELAXED)));
	if (scoreboard_listen_queue(&qlen, &qmax) == 0) {
		json_object_object_add(pool, "listenQueue", api_ops_int(qlen));
		json_object_object_add(pool, "listenQueueMax", api_ops_int(qmax));
	} else {
		json_object_object_add(pool, "listenQueue", NULL);
		json_object_object_add(pool, "listenQueueMax", NULL);
	}
	/* process manager (pm.h): mode, live workers not told to stop
	 * (current), serving ones (active), the largest size and how often
	 * a dynamic pool wanted to grow beyond it. */
	json_object_object_add(pool, "pm", json_object_new_string(pm_mode_name(
	    __atomic_load_n(&sb->pool.pm_mode, __ATOMIC_RELAXED))));
	json_object_object_add(pool, "current", api_ops_int(n.idle + n.busy +
	    n.starting));
	json_object_object_add(pool, "active", api_ops_int(n.busy));
	json_object_object_add(pool, "pmMaxChildren", api_ops_int(
	    __atomic_load_n(&sb->pool.pm_max_children, __ATOMIC_RELAXED)));
	json_object_object_add(pool, "pmMaxChildrenReached", api_ops_int(
	    (long long)__atomic_load_n(&sb->pool.pm_limit_reached,
	    __ATOMIC_RELAXED)));
	json_object_object_add(pool, "maxChildrenReached", api_ops_int(
	    (long long)__atomic_load_n(&sb->pool.max_children_reached,
	    __ATOMIC_RELAXED)));
	util_iso_time(sb->pool.started_at_ms, started, sizeof(started));
	json_object_object_add(pool, "startedAt",
	    json_object_new_string(started));
	json_object_object_add(pool, "uptimeSeconds",
	    api_ops_int((now - sb->pool.started_mono_ms) / 1000));
	json_object_object_add(o, "pool", pool);

	used = __atomic_load_n(&sb->pool.slots_used, __ATOMIC_RELAXED);
	for (i = 0; i < used; i++) {
		json_object *wk;
		int busy;

		if (scoreboard_read(i, &v) == -1)
			continue;
		busy = v.state == SCOREBOARD_BUSY && v.req_start_ms != 0;
		wk = json_object_new_object();
		json_object_object_add(wk, "pid", api_ops_int(v.pid));
		json_object_object_add(wk, "state", json_object_new_string(
		    v.retiring && v.state == SCOREBOARD_IDLE ? "exiting" :
		    scoreboard_state_name(v.state)));
		json_object_object_add(wk, "requests",
		    api_ops_int((long long)v.requests));
		json_object_object_add(wk, "acceptedRequests",
		    api_ops_int((long long)v.accepted));
		json_object_object_add(wk, "currentRequestMs", busy ?
		    api_ops_int(now - v.req_start_ms) : NULL);
		json_object_object_add(wk, "currentRoute", busy ?
		    json_object_new_string(scoreboard_route_name(v.route)) : NULL);
		json_object_object_add(wk, "currentRequestId",
		    busy && v.request_id[0] != '\0' ?
		    json_object_new_string(v.request_id) : NULL);
		json_object_array_add(workers, wk);
	}
	json_object_object_add(o, "workers", workers);
	http_json(c->w, 200, o);
	return 0;
}

static void
api_ops_counter(struct metrics_buf *b, const char *name, const char *help,
    uint64_t v)
{
	metrics_header(b, name, "counter", help);
	metrics_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* The queue gauges; 0 when they were rendered, -1 if MySQL failed. */
static int
api_ops_queue(struct metrics_buf *b)
{
	long long waiting = 0, active = 0, admitted = 0, expired = 0;
	long long idle = 0, unclaimed = 0, cap = 0;
	struct scoreboard *sb = scoreboard_get();
	double rate = 0;

	if (db_exec(st_queue, "") < 0 ||
	    db_fetch(st_queue, "iidiiiii", &waiting, &active, &rate, &admitted,
	    &expired, &idle, &unclaimed, &cap) != 1) {
		db_done(st_queue);
		return -1;
	}
	db_done(st_queue);
	metrics_header(b, "concert_queue_waiting", "gauge",
	    "Tokens behind the last admitted one (an upper bound: includes "
	    "those who left the line).");
	metrics_printf(b, "concert_queue_waiting %lld\n", waiting);
	metrics_header(b, "concert_queue_active", "gauge",
	    "Admitted (ACTIVE) tokens.");
	metrics_printf(b, "concert_queue_active %lld\n", active);
	api_ops_counter(b, "concert_admissions_total",
	    "Tokens admitted by the consumer.", (uint64_t)admitted);
	api_ops_counter(b, "concert_expiries_total",
	    "Admissions that lapsed or ended.", (uint64_t)expired);
	metrics_header(b, "concert_admit_rate", "gauge",
	    "Admissions per second, moving average measured by the consumer.");
	metrics_printf(b, "concert_admit_rate %.6g\n", rate);
	/* Issue 10: places not wasted on people who left. */
	api_ops_counter(b, "concert_queue_idle_total",
	    "Waiting tokens dropped at their turn for not polling in "
	    "waiting_idle_seconds.", (uint64_t)idle);
	api_ops_counter(b, "concert_queue_unclaimed_total",
	    "Admissions lapsed for no request in claim_seconds.",
	    (uint64_t)unclaimed);
	metrics_header(b, "concert_queue_cap", "gauge",
	    "The admission cap every consumer uses (queue_state."
	    "max_active_tokens; 0 until the first pass seeds it).");
	metrics_printf(b, "concert_queue_cap %lld\n", cap);
	if (sb != NULL)
		api_ops_counter(b, "concert_queue_polls_shm_total",
		    "WAITING polls answered from the host's queue counters "
		    "(no database round trip).", __atomic_load_n(
		    &sb->queue.polls_shm, __ATOMIC_RELAXED));
	if (sb != NULL)
		api_ops_counter(b, "concert_queue_polls_overflow_total",
		    "Polls of a concert that found no free line in the host's "
		    "queue counters (answered from MySQL).", __atomic_load_n(
		    &sb->queue.polls_overflow, __ATOMIC_RELAXED));
	if (db_exec(st_lag, "") < 0 ||
	    db_fetch(st_lag, "ii", &waiting, &active) != 1) {
		db_done(st_lag);
		return -1;
	}
	db_done(st_lag);
	metrics_header(b, "concert_consumer_lag", "gauge",
	    "Kafka messages not yet fetched by the consumer group (sum over "
	    "the live instances' assigned partitions).");
	metrics_printf(b, "concert_consumer_lag %lld\n", waiting);
	metrics_header(b, "concert_consumers", "gauge",
	    "Consumer instances that reported in the last 30 s.");
	metrics_printf(b, "concert_consumers %lld\n", active);
	return 0;
}

int
api_metrics(struct api_ctx *c)
{
	static const char *names[SCOREBOARD_ROUTES];
	struct scoreboard *sb = scoreboard_get();
	struct metrics_buf b = { 0 };
	struct api_ops_counts n;
	char head[512];
	size_t nroutes;
	long qlen, qmax;
	int i, hlen, db_up;

	if (sb == NULL) {
		http_error(c->w, 500, "INTERNAL",
		    "the scoreboard is not available in this process");
		return 0;
	}
	nroutes = (size_t)scoreboard_routes_named();
	for (i = 0; i < (int)nroutes; i++)
		names[i] = scoreboard_route_name(i);
	metrics_render_routes(&b, sb->route, names, nroutes);

	api_ops_counter(&b, "concert_accepted_requests_total",
	    "Connections accepted by the workers.",
	    __atomic_load_n(&sb->pool.accepted, __ATOMIC_RELAXED));
	api_ops_counter(&b, "concert_max_children_reached_total",
	    "Master checks (every 250 ms) that found every worker busy.",
	    __atomic_load_n(&sb->pool.max_children_reached, __ATOMIC_RELAXED));
	api_ops_count(&n);
	metrics_header(&b, "concert_workers", "gauge",
	    "Worker processes by state.");
	metrics_printf(&b, "concert_workers{state=\"idle\"} %ld\n"
	    "concert_workers{state=\"busy\"} %ld\n"
	    "concert_workers{state=\"starting\"} %ld\n"
	    "concert_workers{state=\"exiting\"} %ld\n",
	    n.idle, n.busy, n.starting, n.exiting);
	if (scoreboard_listen_queue(&qlen, &qmax) == 0) {
		metrics_header(&b, "concert_listen_queue", "gauge",
		    "Connections waiting in the listen socket's accept queue.");
		metrics_printf(&b, "concert_listen_queue %ld\n", qlen);
		metrics_header(&b, "concert_listen_queue_max", "gauge",
		    "Limit of the accept queue (listen backlog).");
		metrics_printf(&b, "concert_listen_queue_max %ld\n", qmax);
	}
	metrics_header(&b, "process_start_time_seconds", "gauge",
	    "Start time of the concertd master since the epoch.");
	metrics_printf(&b, "process_start_time_seconds %lld.%03lld\n",
	    (long long)(sb->pool.started_at_ms / 1000),
	    (long long)(sb->pool.started_at_ms % 1000));

	db_up = api_ops_queue(&b) == 0;
	if (!db_up)
		scoreboard_count_mysql_error();
	metrics_header(&b, "concert_mysql_up", "gauge",
	    "1 if this scrape could read the queue state from MySQL.");
	metrics_printf(&b, "concert_mysql_up %d\n", db_up);
	api_ops_counter(&b, "concert_mysql_errors_total",
	    "Failed MySQL statements and transactions seen by requests.",
	    __atomic_load_n(&sb->pool.mysql_errors, __ATOMIC_RELAXED));
	api_ops_counter(&b, "concert_kafka_delivery_failures_total",
	    "Events the Kafka producer failed to deliver.",
	    __atomic_load_n(&sb->pool.kafka_failures, __ATOMIC_RELAXED));
	relay_metrics(&b);

	if (b.failed) {
		metrics_buf_free(&b);
		http_error(c->w, 500, "INTERNAL", "out of memory");
		return 0;
	}
	hlen = snprintf(head, sizeof(head),
	    "Status: %s\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Length: %zu\r\n"
	    "X-Request-Id: %.128s\r\n"
	    "\r\n", http_status_text(200), b.len,
	    c->r->request_id ? c->r->request_id : "");
	if (c->r->fcgi != NULL) {
		FCGX_PutStr(head, hlen, c->r->fcgi->out);
		if (c->r->method != HTTP_HEAD)
			FCGX_PutStr(b.p, (int)b.len, c->r->fcgi->out);
	}
	metrics_buf_free(&b);
	c->w->status = 200;
	c->w->sent = 1;
	return 0;
}
