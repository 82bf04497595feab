/*
 * consumer: internals shared by the files of concert-consumer
 * (main.c: the loop and message dispatch; admit.c: queue admission;
 * expire.c: hold expiry, the deadline heap's use and the periodic sweep;
 * heap.c: the heap; kafka.c, offsets.c and lag.c have their own headers).
 *
 * Every database action here is idempotent and re-checks its condition
 * inside its own transaction, so an event delivered twice, late, or never
 * changes nothing that the periodic sweep would not do anyway.  Kafka only
 * makes the work prompt; MySQL decides.
 */
#ifndef CONCERT_CONSUMER_H
#define CONCERT_CONSUMER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* ---------------------------------------------------------------- admit.c */

struct admit_result {
	long long admitted;     /* tokens moved WAITING -> ACTIVE */
	long long lapsed;       /* tokens moved ACTIVE -> EXPIRED (ttl over) */
	long long active;       /* ACTIVE tokens after the pass */
	long long serving_seq;  /* serving counter after the pass */
	double rate;            /* admissions per second after the pass */
	long long idle;         /* WAITING tokens dropped as idle */
	long long unclaimed;    /* ACTIVE tokens lapsed unclaimed */
	long long cap;          /* queue_state.max_active_tokens used */
};

/* Declare the prepared statements (before db_connect).  0 / -1. */
int admit_init(void);

/*
 * One admission pass in one transaction: lapse ACTIVE tokens past their
 * expiry, then admit the lowest-seq WAITING tokens while fewer than
 * cfg->max_active_tokens are ACTIVE, move the serving counter and the
 * rate.  The queue_state row lock serialises passes of every consumer
 * instance, so the cap holds whatever runs concurrently.  Publishes
 * token.admitted / token.lapsed after the commit.  Runs in db_tx_run()
 * (retried on deadlock / lock wait).  0 (res filled if not NULL) / -1.
 */
int admit_pass(const struct config *cfg, struct admit_result *res);

/* ---------------------------------------------------------------- draw.c */

/* Declare the prepared statements (before db_connect).  0 / -1. */
int draw_init(void);

/*
 * The pre-queue draw of concert (issue 12 part 5), if it is due: the
 * concert has a pre-queue, is not drawn, and its on_sale_at has passed.
 * One transaction under the concert's queue_state and queue_seq row
 * locks: a seed from RAND_bytes, the entrants' seqs in the order it
 * gives (shuffle.h), the later joins' behind them, the queue_draws row.
 * Logs the draw with its seed after the commit.  1 drawn, 0 nothing to
 * do (not due, drawn already, by another instance too), -1 database
 * error (retry at the next pass).  Called by admit_pass() before the
 * concert's admission.
 */
int draw_concert(long long concert);

/*
 * Recompute concert's recorded draw from its seed and the entrants found
 * in queue_tokens and compare with the seqs they hold (and the entrants'
 * digest; the later joins' arrival order).  Writes what it finds to out.
 * 0 the order is the seed's, 1 it is not (or no draw), -1 database error.
 */
int draw_verify(long long concert, FILE *out);

/* ---------------------------------------------------------------- expire.c */

/* Declare the prepared statements (before db_connect).  0 / -1. */
int expire_init(void);

/* Free the deadline heap. */
void expire_fini(void);

/*
 * Expire one reservation if it is still HELD and past its deadline (by
 * the database clock): mark it EXPIRED and free its seat if the seat
 * still belongs to it, in one transaction; then publish seat.released.
 * Returns 1 if this call expired it, 0 if there was nothing to do (paid,
 * already expired, not yet due, unknown), -1 on a database error.
 */
int expire_reservation(const unsigned char id[16]);

/*
 * Remember that reservation id is due at due_ms (epoch ms).  The heap
 * (heap.h) is bounded; when full the deadline is dropped (the sweep is the safety
 * net).  0, or -1 if dropped.
 */
int expire_heap_push(int64_t due_ms, const unsigned char id[16]);

/* Earliest remembered deadline (epoch ms), or -1 if none. */
int64_t expire_heap_next(void);

/*
 * Expire every remembered reservation whose deadline is <= now_ms, at most
 * max of them.  While the database is unreachable the due entry is kept
 * and -1 returned (retry later); an entry failing for another reason is
 * logged and dropped (the sweep retries it).  Else the number expired.
 */
int expire_heap_run(int64_t now_ms, int max);

/*
 * The safety net: expire up to 500 overdue holds found in the table and
 * delete Idempotency-Key rows older than cfg->idempotency_ttl_seconds in
 * batches.  A hold that fails for a reason other than an unreachable
 * server is logged and skipped.  Returns the number of holds expired, or
 * -1 when the server is unreachable or the cleanup failed.
 */
int expire_sweep(const struct config *cfg);

#endif
