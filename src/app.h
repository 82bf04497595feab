/*
 * app: the request-handling side of a worker.  worker.c owns the accept
 * loop, signals and process life; app.c owns everything a request touches
 * (MySQL connection, Kafka producer, routing, handlers).
 *
 * Nothing opened here may cross fork(): app_init() runs in each worker
 * after fork, app_check() in the master opens and closes its handles.
 */
#ifndef CONCERT_APP_H
#define CONCERT_APP_H

#include <stddef.h>
#include <fcgiapp.h>

#include "config.h"

/*
 * In the master, before any fork: check that MySQL answers with the schema
 * and that the Kafka brokers are reachable.  A server that does not answer
 * is logged as a warning and the start goes on degraded (0); -1, with a
 * one-line message naming the server in err, only for what retrying
 * cannot fix (db_err_deploy(), events_check_fatal()).  Keeps no state.
 */
int app_check(const struct config *cfg, char *err, size_t errlen);

/*
 * In a worker after fork: connect to MySQL (prepared statements) and create
 * the Kafka producer.  A MySQL server that is down is not fatal here: the
 * worker retries on each request and /health reports it.  Returns 0 or -1.
 */
int app_init(const struct config *cfg, char *err, size_t errlen);

/* Serve one accepted request completely (reads input, writes output). */
void app_handle(FCGX_Request *req);

/*
 * After FCGX_Finish_r() of the request app_handle() served: count it in
 * the shared per-route metrics and write its access log line.
 */
void app_request_done(void);

/* Called between requests and when idle (about once a second):
 * serves Kafka delivery reports, connects MySQL in the background while
 * it is down (db_tick). */
void app_tick(void);

/* Worker exit: flush the producer (bounded wait), close MySQL. */
void app_fini(void);

#endif
