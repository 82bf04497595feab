/*
 * master: the supervising process of concertd (php-fpm / nginx style).
 *
 * It owns the listen socket and never accepts on it.  It pre-forks
 * cfg->workers workers, reaps and respawns them behind a crash-rate
 * breaker (which throttles the pool to one worker, never to none; see
 * master.c), and acts on signals:
 *
 *   SIGCHLD                  reap, log abnormal exits, respawn
 *   SIGHUP                   reload: re-read the config file, start a new
 *                            generation of workers, and once it is ready send
 *                            SIGQUIT to the previous one (the socket stays
 *                            open, so no connection is refused)
 *   SIGTERM, SIGINT, SIGQUIT graceful stop: SIGQUIT to every worker (each
 *                            finishes its in-flight request), SIGKILL to any
 *                            still alive after shutdown_timeout_seconds
 *   SIGUSR1                  log_reopen() here and in every worker
 *
 * Signal handlers only set flags; the signals are blocked except inside
 * ppoll(), so the loop can never miss one.
 *
 * It also forks the event relay (relay.h), the host's one Kafka producer,
 * restarts it when it dies, keeps it across a reload (replacing it only when
 * the Kafka settings changed) and stops it last, after every worker, so it
 * can drain the hand-off socket and flush.
 *
 * The master also maps the shared scoreboard (scoreboard.h) before the
 * first fork and, every 250 ms, logs requests older than slow_request_ms
 * (once each) and SIGKILLs and replaces workers whose request is older
 * than request_timeout_seconds.
 */
#ifndef CONCERT_MASTER_H
#define CONCERT_MASTER_H

#include "config.h"

/*
 * Block the signals the master handles, so that one arriving during
 * start-up (e.g. while app_check() talks to MySQL) is kept pending and acted
 * on by master_run() instead of killing the process with the socket and pid
 * file left behind.  Call before any thread is created.
 */
void master_block_signals(void);

/*
 * Supervise workers serving listen_fd until a stop signal.  cfg is updated
 * in place on a successful reload; config_path (may be NULL) is what SIGHUP
 * re-reads.  Returns 0 after a graceful stop (all workers gone), -1 if the
 * master could not be set up.  Removing the socket and pid file is the
 * caller's job.
 */
int master_run(struct config *cfg, const char *config_path, int listen_fd);

#endif
