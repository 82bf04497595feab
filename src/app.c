/*
 * app: one request from FastCGI params to written response.
 *
 *   read (bounded) -> route -> parse body -> validate parameters (table)
 *   -> handler [inside db_tx_run() for ROUTE_TX, with Idempotency-Key]
 *   -> write -> send the events the handler collected in its context
 *      (only after a commit; dropped on a rollback or a retry)
 *
 * A transaction that fails on a deadlock or lock wait timeout is retried
 * from the start by db_tx_run() (DB_TX_ATTEMPTS in all): every handler is
 * written so that re-running it after a rollback is safe.
 *
 * Around that, for operations: as soon as the FastCGI params are in (before
 * the body is read, which is where a slow client spends its time) the
 * route and request id go into the worker's scoreboard slot, so the
 * master's slow log and request timeout can name them; app_request_done()
 * then counts the request in the shared per-route metrics and writes the
 * access log line.
 */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "api.h"
#include "auth.h"
#include "clock.h"
#include "db.h"
#include "event.h"
#include "events.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "router.h"
#include "scoreboard.h"
#include "util.h"

#define CONCERT_APP_ERR_LEN 512

static const struct config *app_cfg;
static struct http_req req;      /* large (body buffer): static, reused */
static struct event_list app_events;    /* of the request; memory reused */
static pid_t app_pid;
static unsigned long app_kafka_failed;  /* events_failed() already counted */

/*
 * The request in flight, as operations see it.  Copies, not pointers: the
 * FastCGI params are freed by FCGX_Finish_r(), before app_request_done().
 */
static struct {
	int64_t start_us;           /* CLOCK_MONOTONIC */
	int64_t start_real_ms;      /* CLOCK_REALTIME, for the access log */
	int route;                  /* router index; router_count: unmatched */
	int status;
	char method[16];
	char path[128];
	char rid[129];
} app_cur;

/*
 * A dependency that does not answer is not a reason to stay down: the
 * workers connect in the background and /health says "degraded" until it
 * is back (a restart during an outage must keep serving what it can).
 * What retrying cannot fix -- credentials, database, schema, a broker
 * list librdkafka refuses -- fails the start.
 */
int
app_check(const struct config *cfg, char *err, size_t errlen)
{
	char why[CONCERT_APP_ERR_LEN];

	/* A key that cannot be read is a deploy error: fail the start. */
	if (auth_init(cfg, err, errlen) == -1)
		return -1;
	auth_fini();
	if (db_library_init() == -1) {
		snprintf(err, errlen, "mysql library init failed");
		return -1;
	}
	db_configure(cfg);
	if (db_connect(why, sizeof(why)) == -1) {
		if (db_err_deploy()) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		log_warn("%s: starting degraded (API answers 503 "
		    "DB_UNAVAILABLE until it is back)", why);
	} else if (db_query_simple("SELECT 1 FROM queue_state LIMIT 1") == -1) {
		/* The schema must be there: a missing table is a deploy
		 * error; a server lost right now only an outage. */
		if (db_err_deploy()) {
			snprintf(err, errlen, "mysql database '%s' lacks the "
			    "schema: %s", cfg->db_name, db_error());
			db_close();
			return -1;
		}
		log_warn("mysql check failed: %s: starting degraded",
		    db_error());
		db_close();
	} else {
		db_close();
	}
	if (events_check(cfg, why, sizeof(why)) == -1) {
		if (events_check_fatal()) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		log_warn("%s: starting degraded (events wait in the producers "
		    "until it is back)", why);
	}
	return 0;
}

int
app_init(const struct config *cfg, char *err, size_t errlen)
{
	int rc = 0;

	app_cfg = cfg;
	app_pid = getpid();
	if (router_count + 1 > SCOREBOARD_ROUTES)
		log_error("route table has %d routes, the scoreboard room for "
		    "%d: metrics of the last ones are not kept", router_count,
		    SCOREBOARD_ROUTES - 1);
	db_configure(cfg);
	if (api_prepare() == -1 || idem_prepare() == -1 ||
	    auth_prepare() == -1) {
		snprintf(err, errlen, "statement table setup failed");
		return -1;
	}
	/* A worker without its key refuses every user route (auth.c). */
	if (auth_init(cfg, err, errlen) == -1) {
		log_error("auth: %s", err);
		rc = -1;
	}
	/* Not fatal: /health reports it, app_tick() and requests retry. */
	db_tick();
	/* Forked by a master: its event relay is the host's producer. */
	if (!relay_in_use() && events_init(cfg, err, errlen) == -1) {
		log_error("kafka producer: %s", err);
		rc = -1;
	}
	return rc;
}

/* Add the producer's new delivery failures to the pool's counter: each
 * worker counts its own, and a dead worker's total must not be lost. */
static void
app_count_kafka_failures(void)
{
	unsigned long failed = events_failed();

	if (failed > app_kafka_failed) {
		scoreboard_count_kafka_failures(failed - app_kafka_failed);
		app_kafka_failed = failed;
	}
}

void
app_tick(void)
{
	events_poll();
	app_count_kafka_failures();
	db_tick();
}

void
app_fini(void)
{
	events_fini(5000);
	app_count_kafka_failures();
	event_list_free(&app_events);
	auth_fini();
	db_close();
}

/* Bounded copy of a possibly NULL string. */
static void
app_copy(char *dst, size_t len, const char *src)
{
	size_t n = src != NULL ? strnlen(src, len - 1) : 0;

	memcpy(dst, src != NULL ? src : "", n);
	dst[n] = '\0';
}

/* A request id we may echo in a header and log: 1 to 128 visible ASCII
 * characters.  Anything else is replaced by a generated one. */
static int
app_rid_valid(const char *rid)
{
	size_t i;

	if (rid == NULL || *rid == '\0')
		return 0;
	for (i = 0; rid[i] != '\0'; i++)
		if (i >= 128 || rid[i] <= 0x20 || rid[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * Right after accept: what the request is, from the params alone (libfcgi
 * has read them all; the body may still be on its way).  The request id
 * follows http_read()'s precedence, or is generated here for it.
 */
static void
app_request_start(FCGX_Request *f)
{
	const struct route *rt;
	const char *uri, *q, *rid;
	char path[HTTP_MAX_PATH], allow[64];
	size_t plen;
	int status;

	app_cur.start_us = clock_mono_us();
	app_cur.start_real_ms = clock_wall_ms();
	app_cur.status = 0;
	app_copy(app_cur.method, sizeof(app_cur.method),
	    FCGX_GetParam("REQUEST_METHOD", f->envp));
	if ((uri = FCGX_GetParam("REQUEST_URI", f->envp)) == NULL || *uri == '\0')
		uri = FCGX_GetParam("SCRIPT_NAME", f->envp);
	if (uri == NULL)
		uri = "";
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	if (plen >= sizeof(path))
		plen = sizeof(path) - 1;
	memcpy(path, uri, plen);
	path[plen] = '\0';
	app_copy(app_cur.path, sizeof(app_cur.path), path);

	rt = router_find(http_method_parse(app_cur.method), path, &status,
	    allow, sizeof(allow));
	app_cur.route = rt != NULL ? (int)(rt - router_table) : router_count;

	if ((rid = FCGX_GetParam("REQUEST_ID", f->envp)) == NULL)
		rid = FCGX_GetParam("HTTP_X_REQUEST_ID", f->envp);
	if (app_rid_valid(rid)) {
		app_copy(app_cur.rid, sizeof(app_cur.rid), rid);
	} else {
		unsigned char u[16];

		util_uuid_new(u);
		util_uuid_format(u, app_cur.rid);
	}
	scoreboard_request_route(app_cur.route,
	    (int)http_method_parse(app_cur.method), app_cur.rid);
}

void
app_request_done(void)
{
	int64_t dur = clock_mono_us() - app_cur.start_us;
	struct metrics_route *mr;
	struct accesslog_entry e;

	if ((mr = scoreboard_route(app_cur.route)) != NULL)
		metrics_observe(mr, app_cur.status, dur);
	if (!accesslog_enabled())
		return;
	e.time_ms = app_cur.start_real_ms;
	e.request_id = app_cur.rid;
	e.method = app_cur.method;
	/* Route names are a closed set; the path says what was asked for
	 * when no route matched. */
	e.route = app_cur.route < router_count ?
	    router_name(app_cur.route) : app_cur.path;
	e.status = app_cur.status;
	e.duration_us = dur;
	e.worker = app_pid;
	accesslog_write(&e);
}

static void
db_failure(struct http_resp *w)
{
	if (db_err_commit_unknown()) {
		/* No Retry-After: a blind retry could apply it twice. */
		log_warn("mysql connection lost during commit, outcome unknown "
		    "(request %s)", app_cur.rid);
		http_error(w, 500, "COMMIT_UNKNOWN",
		    "the database connection was lost while committing; the "
		    "request may have taken effect: check before repeating it, "
		    "or repeat it with the same Idempotency-Key");
	} else if (db_err_unavailable()) {
		http_error(w, 503, "DB_UNAVAILABLE",
		    "the database is unavailable; retry later");
		http_header(w, "Retry-After", "1");
	} else if (db_err_retryable()) {
		http_error(w, 503, "CONTENDED",
		    "the request conflicted with concurrent ones; retry");
		http_header(w, "Retry-After", "1");
	} else {
		log_error("database error %u: %s (request %s)", db_errno(),
		    db_error(), app_cur.rid);
		http_error(w, 500, "INTERNAL", "internal error");
	}
}

struct app_tx {
	const struct route *rt;
	struct api_ctx *c;
	int idem;                   /* Idempotency-Key in use */
};

/* The transaction body of a ROUTE_TX handler (db_tx_run). */
static enum db_tx_result
app_tx_body(void *arg)
{
	struct app_tx *t = arg;
	struct api_ctx *c = t->c;

	/* A retry starts from nothing. */
	http_resp_clear(c->w);
	event_list_clear(c->events);
	if (t->idem) {
		switch (idem_begin(c->cfg, c->r, c->p, c->w)) {
		case IDEM_PROCEED:
			break;
		case IDEM_ANSWERED:
			return DB_TX_ROLLBACK;
		case IDEM_DBERR:
			return DB_TX_ERROR;
		}
	}
	if (t->rt->fn(c) == -1)
		return DB_TX_ERROR;
	if (t->idem)
		/* An error answer is stored too (its effects undone). */
		return idem_finish(c->r, c->w) == -1 ? DB_TX_ERROR :
		    DB_TX_COMMIT;
	return c->w->status >= 400 ? DB_TX_ROLLBACK : DB_TX_COMMIT;
}

static void
app_tx_failed(void *arg, int attempt)
{
	scoreboard_count_mysql_error();
}

/* Run a ROUTE_TX handler in its transaction.  Leaves in c->events only
 * what a committed success did. */
static void
run_tx(const struct route *rt, struct api_ctx *c)
{
	struct app_tx t = { rt, c,
	    (rt->flags & ROUTE_IDEMPOTENT) && c->r->idem_key != NULL };

	switch (db_tx_run(app_tx_body, app_tx_failed, &t)) {
	case DB_TX_COMMIT:
		if (c->w->status >= 400)
			event_list_clear(c->events);   /* a stored error */
		return;
	case DB_TX_ROLLBACK:
		event_list_clear(c->events);
		return;
	case DB_TX_ERROR:
		break;
	}
	event_list_clear(c->events);
	http_resp_clear(c->w);
	db_failure(c->w);
}

static void
dispatch(struct api_ctx *c)
{
	struct http_req *r = c->r;
	struct http_resp *w = c->w;
	const struct route *rt;
	char allow[64];
	int status = 0;

	rt = router_match(r->method, r->path, r->path_name,
	    sizeof(r->path_name), r->path_value, sizeof(r->path_value), &status,
	    allow, sizeof(allow));
	if (rt == NULL) {
		if (r->method == HTTP_OPTIONS && status == 405) {
			w->status = 204;
			http_header(w, "Allow", allow);
			return;
		}
		if (status == 405) {
			http_error(w, 405, "METHOD_NOT_ALLOWED",
			    "method %s is not allowed here", r->method_name);
			http_header(w, "Allow", allow);
		} else {
			http_error(w, 404, "NOT_FOUND", "no such endpoint");
		}
		return;
	}
	if (validate_body(r, w) == -1)
		return;
	/* The caller is decided here and only here (auth.h): from now on
	 * P_USER_ID is who the request acts for. */
	switch (auth_params(app_cfg, (rt->flags & ROUTE_USER) != 0, r,
	    rt->want, rt->required, ROUTE_QUERY_MASK(rt), c->p, w)) {
	case AUTH_PASS:
		break;
	case AUTH_REFUSED:
		return;
	case AUTH_DBERR:
		scoreboard_count_mysql_error();
		http_resp_clear(w);
		db_failure(w);
		return;
	}
	if (r->idem_key != NULL && (rt->flags & ROUTE_IDEMPOTENT) &&
	    idem_key_valid(r->idem_key) == -1) {
		http_error(w, 400, "INVALID_IDEMPOTENCY_KEY",
		    "Idempotency-Key must be 1 to 200 visible ASCII characters");
		return;
	}
	if (rt->flags & ROUTE_TX) {
		run_tx(rt, c);
		return;
	}
	/* Autocommit: whatever the handler did is committed already. */
	if (rt->fn(c) == -1) {
		scoreboard_count_mysql_error();
		event_list_clear(c->events);
		http_resp_clear(w);
		db_failure(w);
	}
}

void
app_handle(FCGX_Request *f)
{
	struct http_resp w;
	struct params p;
	struct api_ctx c;
	size_t i;
	int rc;

	app_request_start(f);
	memset(&w, 0, sizeof(w));
	event_list_clear(&app_events);
	c.cfg = app_cfg;
	c.r = &req;
	c.w = &w;
	c.p = &p;
	c.events = &app_events;
	if (req.json != NULL)
		json_object_put(req.json);
	req.json = NULL;
	rc = http_read(&req, f);
	/* The same id the scoreboard and the access log have (generated by
	 * app_request_start() when the request brought none). */
	req.request_id = app_cur.rid;
	if (rc == 413)
		http_error(&w, 413, "PAYLOAD_TOO_LARGE",
		    "request body exceeds %d bytes", HTTP_MAX_BODY);
	else if (rc != 0)
		http_error(&w, 400, "BAD_REQUEST", "malformed request");
	else
		dispatch(&c);
	app_cur.status = w.status != 0 ? w.status : 200;
	http_header(&w, "X-Request-Id", req.request_id);
	http_write(&req, &w);
	for (i = 0; i < app_events.n; i++)
		if (relay_in_use())
			relay_send(&app_events.v[i]);
		else
			events_send(&app_events.v[i]);
	event_list_clear(&app_events);
	http_resp_clear(&w);
	if (req.json != NULL) {
		json_object_put(req.json);
		req.json = NULL;
	}
}

int
api_prepare(void)
{
	if (api_token_prepare() == -1 || api_reservation_prepare() == -1 ||
	    api_balance_prepare() == -1 || api_payment_prepare() == -1 ||
	    api_ops_prepare() == -1 || api_booking_prepare() == -1)
		return -1;
	return 0;
}

