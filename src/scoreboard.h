/*
 * scoreboard: what every worker is doing, in memory shared by the master
 * and all its workers (php-fpm's scoreboard).
 *
 * The master maps it once, before the first fork, for SCOREBOARD_SLOTS
 * workers -- twice the largest `workers` a config may ask for, because
 * during a reload two generations run side by side -- so it survives
 * reloads unchanged and counters are totals over the master's lifetime.
 * The master hands a free slot to each worker it forks and frees it when
 * it reaps the worker.
 *
 * Concurrency: each slot has ONE writer, its worker (plus the master
 * before the fork and after the reap, when no worker owns it; and the
 * `retiring` flag, which only the master writes).  Fields are naturally
 * aligned and accessed with relaxed __atomic loads and stores, so a reader
 * sees each field whole but possibly from two different moments; the
 * request fields (start, route, method, request id) are additionally under
 * a sequence counter so that a reader copying them can tell when the
 * worker moved on to another request in between.  Pool and route counters
 * are __atomic_fetch_add'ed by whoever counts.
 */
#ifndef CONCERT_SCOREBOARD_H
#define CONCERT_SCOREBOARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "metrics.h"

#define SCOREBOARD_SLOTS   2048   /* 2 x the maximum of `workers` */
#define SCOREBOARD_ROUTES  32     /* router_count + 1 ("unmatched") must fit */
#define SCOREBOARD_RID_LEN 64     /* request id kept for the slow log */
#define SCOREBOARD_NAME_LEN 32    /* longest route name kept, with its NUL */

enum scoreboard_state {
	SCOREBOARD_FREE = 0,          /* no worker owns the slot */
	SCOREBOARD_STARTING,          /* forked, not yet accepting */
	SCOREBOARD_IDLE,              /* waiting for a connection */
	SCOREBOARD_BUSY,              /* serving a request */
	SCOREBOARD_EXITING            /* left its accept loop */
};

struct scoreboard_slot {
	int32_t pid;
	int32_t state;                /* enum scoreboard_state */
	uint32_t seq;                 /* odd while the request fields change */
	int32_t route;                /* route index of the request, -1: none */
	int32_t method;               /* enum http_method of the request */
	int32_t retiring;             /* the master sent SIGQUIT (master only) */
	int64_t req_start_ms;         /* CLOCK_MONOTONIC ms, 0: no request */
	uint64_t requests;            /* requests finished by this worker */
	uint64_t accepted;            /* requests accepted by this worker */
	char request_id[SCOREBOARD_RID_LEN];
} __attribute__((aligned(64)));   /* one writer per cache line */

struct scoreboard_pool {
	int64_t started_at_ms;        /* CLOCK_REALTIME ms of scoreboard_create */
	int64_t started_mono_ms;
	uint64_t accepted;            /* requests accepted by any worker */
	uint64_t max_children_reached; /* master checks that found no idle worker */
	uint64_t mysql_errors;
	uint64_t kafka_failures;
	int32_t slots_used;           /* slots [0, slots_used) were ever handed out */
	int32_t workers_wanted;       /* `workers` of the running config */
	int32_t routes_named;         /* route_name[0, routes_named) are set */
	/* process manager (pm.h), written by the master */
	int32_t pm_mode;              /* enum pm_mode of the running config */
	int32_t pm_max_children;      /* its pm_max_children (static: workers) */
	uint64_t pm_limit_reached;    /* dynamic: ticks short of spares at the max */
} __attribute__((aligned(64)));

/*
 * The host's copy of the waiting queues' counters (issue 10; one line per
 * concert since issue 12): what a WAITING poll is answered from, without
 * the database.
 *
 * SCOREBOARD_QUEUES lines: a concert takes the first free one the first
 * time one of its tokens is polled on this host (compare-and-swap of
 * `concert` from 0; lines are taken in index order and never given back
 * while the master runs, so "the first free line" ends every search).  A
 * concert that finds none is answered from MySQL (polls_overflow counts
 * those polls).
 *
 * In each line, one worker at a time refreshes it from its concert's
 * queue_state row (the lease: whoever finds it older than the refresh
 * interval and wins the compare-and-swap on lease_until_ms).
 * serving_seq, admit_rate, max_active and the `left` bits are under the
 * line's sequence counter `seq` (odd while the refresher writes; entering
 * takes it odd by compare-and-swap, so two refreshers whose leases
 * overlapped never write at once).  serving_seq only moves forward.
 *
 * left: bit (s % SCOREBOARD_QUEUE_WINDOW) is set when the token with seq
 * s left the line (DELETE /token) while above serving_seq; meaningful for
 * serving_seq < s <= serving_seq + SCOREBOARD_QUEUE_WINDOW only (a seq
 * beyond the window is asked of the database).  Set by the worker that
 * served the DELETE at once, and by the refresher for leavers seen on any
 * host; the refresher clears the bits that serving_seq passes.
 *
 * seen: one ring for all lines of (concert, seq) pairs
 * (SCOREBOARD_QUEUE_SEEN_KEY) whose WAITING poll must reach
 * queue_tokens.seen_at (idle detection); workers append, any line's
 * refresher writes them out in batches.  touched[s % WINDOW] of a line is
 * when (s since the scoreboard started) this host last queued s, so a seq
 * is queued at most once per interval.
 */
#define SCOREBOARD_QUEUES       64           /* concerts with a line here */
#define SCOREBOARD_QUEUE_WINDOW (1 << 18)
#define SCOREBOARD_QUEUE_SEEN   65536        /* ring of seqs to flush */
#define SCOREBOARD_QUEUE_KEY    32           /* per-start token key */

/* A seen ring entry: concert (1..65535) and seq (< 2^48) in one int64
 * (never 0, the empty slot). */
#define SCOREBOARD_QUEUE_SEEN_KEY(c, s) \
	((int64_t)(((uint64_t)(c) << 48) | ((uint64_t)(s) & 0xffffffffffffULL)))
#define SCOREBOARD_QUEUE_SEEN_CONCERT(k) ((int)((uint64_t)(k) >> 48))
#define SCOREBOARD_QUEUE_SEEN_SEQ(k) \
	((int64_t)((uint64_t)(k) & 0xffffffffffffULL))

struct scoreboard_queue_line {
	int32_t concert;              /* 0: free; set once */
	uint32_t seq;                 /* odd while the counters change */
	int32_t lease_pid;
	int32_t pad_;
	int64_t lease_until_ms;       /* CLOCK_MONOTONIC ms */
	int64_t refreshed_ms;         /* last successful refresh; 0: never */
	int64_t serving_seq;
	int64_t max_active;           /* queue_state.max_active_tokens */
	double admit_rate;
	uint64_t refreshes;
	uint64_t left[SCOREBOARD_QUEUE_WINDOW / 64];
	uint32_t touched[SCOREBOARD_QUEUE_WINDOW];
};

struct scoreboard_queue {
	uint64_t polls_shm;           /* WAITING polls answered from here */
	uint64_t polls_overflow;      /* polls of a concert without a line */
	uint64_t seen_head;           /* next ring index a worker writes */
	uint64_t seen_tail;           /* next ring index the refresher reads */
	unsigned char key[SCOREBOARD_QUEUE_KEY];
	int64_t seen[SCOREBOARD_QUEUE_SEEN];        /* 0: slot empty */
	struct scoreboard_queue_line line[SCOREBOARD_QUEUES];
};

/* What a reader learns of the queue, for one seq. */
struct scoreboard_queue_view {
	int64_t serving_seq;
	int64_t max_active;
	double admit_rate;
	int64_t age_ms;               /* since the last refresh */
	int left;                     /* 1 left, 0 did not, -1 outside the window */
};

/*
 * The host's event relay (relay.h): one process, forked by the master,
 * owns the only Kafka producer of the workers.  `pid` is written by the
 * master (0: no relay running); the health and queue fields by the relay
 * (its main loop and its health thread); `handoff_dropped` and
 * `drop_logged_ms` by any worker whose hand-off was refused.
 */
struct scoreboard_relay {
	int32_t pid;                  /* running relay, 0: none (master) */
	int32_t kafka_ok;             /* the last metadata request answered */
	int64_t checked_ms;           /* CLOCK_MONOTONIC ms of that request */
	int64_t ok_ms;                /* ... of the last one that answered */
	int64_t outq;                 /* events in the producer, not yet acked */
	uint64_t received;            /* events read from the hand-off socket */
	uint64_t restarts;            /* relays started after the first */
	uint64_t handoff_dropped;     /* events a worker could not hand off */
	int64_t drop_logged_ms;       /* host-wide rate limit of that warning */
} __attribute__((aligned(64)));

struct scoreboard {
	struct scoreboard_pool pool;
	struct scoreboard_relay relay;
	struct scoreboard_queue queue;
	/* What route[i] counts: written once, before the first fork. */
	char route_name[SCOREBOARD_ROUTES][SCOREBOARD_NAME_LEN];
	struct metrics_route route[SCOREBOARD_ROUTES];
	struct scoreboard_slot slot[SCOREBOARD_SLOTS];
};

/* A consistent copy of one slot, for readers. */
struct scoreboard_view {
	pid_t pid;
	enum scoreboard_state state;
	int retiring;
	int route;
	int method;
	int64_t req_start_ms;
	uint64_t requests;
	uint64_t accepted;
	char request_id[SCOREBOARD_RID_LEN];
};

/*
 * Map the scoreboard (shared, anonymous) unless this process already has
 * one.  Call in the master before forking, or in a worker running without
 * a master.  Returns 0, or -1 with err set.
 */
int scoreboard_create(char *err, size_t errlen);

/* The mapped scoreboard, or NULL before scoreboard_create(). */
struct scoreboard *scoreboard_get(void);

/* clock_mono_ms(), the clock of req_start_ms (kept for its callers). */
int64_t scoreboard_now_ms(void);

/* --- master side --- */

/* Take a free slot for a worker about to be forked, marked STARTING.
 * Returns its index, or -1 when every slot is taken. */
int scoreboard_slot_alloc(void);

/* Record the pid of the slot's worker (after fork, in the master). */
void scoreboard_slot_pid(int idx, pid_t pid);

/* Mark the slot's worker as told to stop. */
void scoreboard_slot_retire(int idx);

/* The slot's worker is reaped: free the slot.  No-op for idx < 0. */
void scoreboard_slot_free(int idx);

/* Remember the configured number of workers (shown in the status). */
void scoreboard_set_workers_wanted(long n);

/* Remember the pool's process manager mode (enum pm_mode) and its largest
 * size (shown in the status). */
void scoreboard_set_pm(int mode, long max_children);

/* Count a dynamic-pool tick that wanted spare workers at pm_max_children. */
void scoreboard_count_pm_limit(void);

/*
 * Name the route indices: name(i) for 0 <= i < n (n is cut to
 * SCOREBOARD_ROUTES, names to SCOREBOARD_NAME_LEN - 1).  Whoever maps the
 * scoreboard calls it once, before forking, with the router's names; from
 * then on the readers (the ops endpoints, the master's logs) name routes
 * from the scoreboard alone and need not know the router.
 */
void scoreboard_name_routes(const char *(*name)(int idx), int n);

/* --- worker side (all no-ops before scoreboard_attach) --- */

/*
 * In the forked worker: make idx this process's slot (-1: none was free;
 * the worker then updates a private slot nobody sees).  listen_fd is the
 * socket scoreboard_listen_queue() will inspect.
 */
void scoreboard_attach(int idx, int listen_fd);

/* Set our slot's state (STARTING, IDLE, EXITING). */
void scoreboard_set_state(enum scoreboard_state st);

/* A request was accepted at now_ms: BUSY, counted in the pool. */
void scoreboard_request_begin(int64_t now_ms);

/* What the request is, once known (request_id may be NULL; truncated). */
void scoreboard_request_route(int route, int method, const char *request_id);

/* The request is finished: IDLE. */
void scoreboard_request_end(void);

/* Pool counters, callable from any process. */
void scoreboard_count_mysql_error(void);
void scoreboard_count_kafka_failures(uint64_t n);

/* The route counters of route index idx (0 <= idx < SCOREBOARD_ROUTES),
 * or NULL. */
struct metrics_route *scoreboard_route(int idx);

/* --- queue counters (see struct scoreboard_queue) --- */

/* The per-start token key (random, made by scoreboard_create), or NULL. */
const unsigned char *scoreboard_queue_key(void);

/* 1 when concert's counters are older than stale_ms (or were never
 * filled) and the caller took the refresh lease (held for at most
 * hold_ms); the caller must then call scoreboard_queue_publish() or
 * scoreboard_queue_unlease().  Takes a line for the concert if it has
 * none; 0 when none is free. */
int scoreboard_queue_lease(int concert, int64_t now_ms, int64_t stale_ms,
    int64_t hold_ms);

/* Give the lease back without publishing (the refresh failed). */
void scoreboard_queue_unlease(int concert);

/*
 * Publish a refresh of concert's line: the serving counter, rate and cap
 * read from the database, and left[0, nleft), seqs of tokens that left
 * the line.  Drops the lease.  Returns 0, or -1 when another refresher is
 * writing or the concert has no line (nothing published).
 */
int scoreboard_queue_publish(int concert, int64_t serving, double rate,
    int64_t max_active, const int64_t *left, size_t nleft, int64_t now_ms);

/* Mark seq of concert as having left the line (no-op outside the window
 * or without a line). */
void scoreboard_queue_mark_left(int concert, int64_t seq);

/* Read concert's counters as seen by seq.  0, or -1 (no line, never
 * refreshed, or the refresher kept writing). */
int scoreboard_queue_read(int concert, int64_t seq, int64_t now_ms,
    struct scoreboard_queue_view *v);

/* A WAITING poll of (concert, seq) at now_s (seconds): queue it for the
 * seen_at flush unless this host queued it less than every_s ago. */
void scoreboard_queue_seen(int concert, int64_t seq, uint32_t now_s,
    uint32_t every_s);

/* Count a WAITING poll answered from the counters. */
void scoreboard_queue_count_poll(void);

/* 1 when concert has a line on this host. */
int scoreboard_queue_has_line(int concert);

/* Count a poll of a concert that found no free line (asked of MySQL). */
void scoreboard_queue_count_overflow(void);

/* Take up to max queued seen entries (SCOREBOARD_QUEUE_SEEN_KEY) into
 * out.  Returns how many. */
size_t scoreboard_queue_take_seen(int64_t *out, size_t max);

/* --- readers --- */

/* Copy slot idx.  Returns 0, or -1 when it is FREE. */
int scoreboard_read(int idx, struct scoreboard_view *v);

/* Name of route index idx as scoreboard_name_routes() set it, or "-"
 * (no request yet, or an index that was not named). */
const char *scoreboard_route_name(int idx);

/* How many route indices are named (0 before scoreboard_name_routes()). */
int scoreboard_routes_named(void);

/* Name of a state ("idle"...). */
const char *scoreboard_state_name(enum scoreboard_state st);

/*
 * Connections waiting in the listen socket's accept queue (*len) and the
 * queue's limit (*max): TCP_INFO for TCP, sock_diag (UDIAG_SHOW_RQLEN) for
 * a unix socket.  Returns 0, or -1 when unknown (no socket, no netlink).
 */
int scoreboard_listen_queue(long *len, long *max);

#endif
