/*
 * app: one request from FastCGI params to written response.
 *
 *   read (bounded) -> route -> parse body -> validate parameters (table)
 *   -> handler [inside BEGIN .. COMMIT for ROUTE_TX, with Idempotency-Key]
 *   -> write -> publish the handler's events (only after a commit)
 *
 * A transaction that fails on a deadlock or lock wait timeout is retried
 * from the start (at most APP_TX_TRIES times): every handler is written so
 * that re-running it after a rollback is safe.
 */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "events.h"
#include "idem.h"
#include "log.h"
#include "router.h"
#include "util.h"

#define APP_TX_TRIES 3

static const struct config *app_cfg;
static struct http_req req;      /* large (body buffer): static, reused */

int
app_check(const struct config *cfg, char *err, size_t errlen)
{
	if (db_library_init() == -1) {
		snprintf(err, errlen, "mysql library init failed");
		return -1;
	}
	db_configure(cfg);
	if (db_connect(err, errlen) == -1)
		return -1;
	/* The schema must be there: a missing table is a deploy error. */
	if (db_query_simple("SELECT 1 FROM queue_state LIMIT 1") == -1) {
		snprintf(err, errlen, "mysql database '%s' lacks the schema: %s",
		    cfg->db_name, db_error());
		db_close();
		return -1;
	}
	db_close();
	return events_check(cfg, err, errlen);
}

int
app_init(const struct config *cfg, char *err, size_t errlen)
{
	int rc = 0;

	app_cfg = cfg;
	db_configure(cfg);
	if (api_prepare() == -1 || idem_prepare() == -1) {
		snprintf(err, errlen, "statement table setup failed");
		return -1;
	}
	if (db_connect(err, errlen) == -1) {
		log_warn("%s (will retry per request)", err);
		rc = 0;   /* not fatal: /health reports it, requests retry */
	}
	if (events_init(cfg, err, errlen) == -1) {
		log_error("kafka producer: %s", err);
		rc = -1;
	}
	return rc;
}

void
app_tick(void)
{
	events_poll();
}

void
app_fini(void)
{
	events_fini(5000);
	db_close();
}

static void
db_failure(struct http_resp *w)
{
	if (db_err_unavailable()) {
		http_error(w, 503, "DB_UNAVAILABLE",
		    "the database is unavailable; retry later");
		http_header(w, "Retry-After", "1");
	} else if (db_err_retryable()) {
		http_error(w, 503, "CONTENDED",
		    "the request conflicted with concurrent ones; retry");
		http_header(w, "Retry-After", "1");
	} else {
		log_error("database error %u: %s", db_errno(), db_error());
		http_error(w, 500, "INTERNAL", "internal error");
	}
}

/* Run a ROUTE_TX handler in its transaction, with retries. */
static void
run_tx(const struct route *rt, struct api_ctx *c)
{
	struct http_resp *w = c->w;
	int idem = (rt->flags & ROUTE_IDEMPOTENT) && c->r->idem_key != NULL;
	int tries;

	for (tries = 0; tries < APP_TX_TRIES; tries++) {
		http_resp_clear(w);
		if (db_begin() == -1)
			break;
		if (idem) {
			enum idem_result ir = idem_begin(c->cfg, c->r, w);

			if (ir == IDEM_ANSWERED) {
				db_rollback();
				return;
			}
			if (ir == IDEM_DBERR)
				goto fail;
		}
		if (rt->fn(c) == -1)
			goto fail;
		if (idem) {
			if (idem_finish(c->r, w) == -1)
				goto fail;
		} else if (w->status >= 400) {
			db_rollback();
			return;
		}
		if (db_commit() == 0) {
			if (w->status >= 400) {
				/* stored error answer: no events */
				int i;

				for (i = 0; i < w->nevents; i++)
					free(w->events[i].json);
				w->nevents = 0;
			}
			return;
		}
		if (!db_err_retryable())
			break;
		continue;
fail:
		db_rollback();
		if (!db_err_retryable())
			break;
	}
	http_resp_clear(w);
	db_failure(w);
}

static void
dispatch(struct http_req *r, struct http_resp *w)
{
	const struct route *rt;
	struct params p;
	struct api_ctx c = { app_cfg, r, w, &p };
	char allow[64];
	int status = 0;
	long long amax;

	rt = router_find(r->method, r->path, &status, allow, sizeof(allow));
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
	amax = (rt->flags & ROUTE_AMOUNT_CHARGE) ? app_cfg->max_charge_amount :
	    app_cfg->max_balance;
	if (validate_params(r, rt->want, rt->required, amax, &p, w) == -1)
		return;
	if (r->idem_key != NULL && (rt->flags & ROUTE_IDEMPOTENT) &&
	    idem_key_valid(r->idem_key) == -1) {
		http_error(w, 400, "INVALID_IDEMPOTENCY_KEY",
		    "Idempotency-Key must be 1 to 200 visible ASCII characters");
		return;
	}
	if (rt->flags & ROUTE_TX) {
		run_tx(rt, &c);
		return;
	}
	if (rt->fn(&c) == -1) {
		http_resp_clear(w);
		db_failure(w);
	}
}

void
app_handle(FCGX_Request *f)
{
	struct http_resp w;
	char rid[40];
	int rc, i;

	memset(&w, 0, sizeof(w));
	if (req.json != NULL)
		json_object_put(req.json);
	req.json = NULL;
	rc = http_read(&req, f);
	if (req.request_id == NULL) {
		unsigned char u[16];

		util_uuid_new(u);
		util_uuid_format(u, rid);
		req.request_id = rid;
	}
	if (rc == 413)
		http_error(&w, 413, "PAYLOAD_TOO_LARGE",
		    "request body exceeds %d bytes", HTTP_MAX_BODY);
	else if (rc != 0)
		http_error(&w, 400, "BAD_REQUEST", "malformed request");
	else
		dispatch(&req, &w);
	http_header(&w, "X-Request-Id", req.request_id);
	http_write(&req, &w);
	for (i = 0; i < w.nevents; i++)
		events_publish(w.events[i].topic, w.events[i].key,
		    w.events[i].json);
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
	    api_balance_prepare() == -1 || api_payment_prepare() == -1)
		return -1;
	return 0;
}

void
api_now_iso(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000);
}
