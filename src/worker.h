/*
 * worker: one FastCGI worker process, the FCGX_Accept_r loop around app.c.
 *
 * Signals in a worker:
 *   SIGQUIT, SIGTERM, SIGINT  graceful stop: the request in flight (if any)
 *                             completes, then app_fini() and exit 0
 *   SIGUSR1                   log_reopen() and accesslog_reopen() before
 *                             the next request
 *   SIGHUP                    ignored (only the master reloads)
 *   SIGPIPE                   ignored (a vanished client is a write error)
 * The worker also exits 0 after cfg->max_requests requests (0: never).
 *
 * Each request is bracketed in the worker's scoreboard slot (BUSY from
 * accept to the end of FCGX_Finish_r, see scoreboard.h), and counted in the
 * metrics and access log by app_request_done() once the answer is flushed.
 */
#ifndef CONCERT_WORKER_H
#define CONCERT_WORKER_H

#include "config.h"

/*
 * Serve requests on listen_fd until told to stop; never returns (_exit).
 * ready_fd >= 0: write our pid (one write of sizeof(pid_t) bytes) to it once
 * app_init() is done and we are about to accept, then close it; the master
 * uses this to retire the previous generation only when the new one is up.
 * Pass -1 when there is no master.  Must be entered with nothing of app.c
 * opened in this process (fork-safety).
 */
void worker_run(const struct config *cfg, int listen_fd, int ready_fd)
    __attribute__((noreturn));

#endif
