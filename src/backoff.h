/*
 * backoff: a delay that doubles on each failure up to a cap and resets on
 * success, for retrying a dependency without hammering it.
 */
#ifndef CONCERT_BACKOFF_H
#define CONCERT_BACKOFF_H

#include <stdint.h>

struct backoff {
	int64_t min_ms, max_ms;   /* first delay, cap */
	int64_t delay_ms;         /* current delay, 0: no failure pending */
	int64_t until_ms;         /* no retry before this (monotonic ms) */
};

#define BACKOFF_INIT(min, max) { (min), (max), 0, 0 }

/* A failure at now: wait min_ms, or twice the last delay (at most max_ms). */
void backoff_fail(struct backoff *b, int64_t now_ms);

/* A success: the next failure starts again at min_ms. */
void backoff_reset(struct backoff *b);

/* Is a retry still to wait at now? */
int backoff_waiting(const struct backoff *b, int64_t now_ms);

#endif
