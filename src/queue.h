/*
 * queue: the waiting-queue arithmetic shared by the workers (answers to
 * polls) and the consumer (rate measurement).  Pure functions: O(1), no
 * COUNT over waiting rows anywhere.
 */
#ifndef CONCERT_QUEUE_H
#define CONCERT_QUEUE_H

/* Token states (queue_tokens.state) are enum token_state in model.h. */

/*
 * Place in line of a waiting token: people ahead plus one, from its own
 * sequence number and the serving counter (highest admitted seq).  Never
 * below 1.  Sequence gaps (rolled-back inserts) make it an upper bound.
 */
long long queue_position(long long seq, long long serving_seq);

/*
 * Estimated seconds until admission for a waiting token at position.
 * rate is the measured admissions per second (moving average); before
 * any rate is known (rate <= 0) the estimate assumes each of the
 * max_active slots turns over once per active_ttl seconds.  At least 1.
 */
long long queue_wait_seconds(long long position, double rate,
    long max_active, long active_ttl);

/*
 * Exponential moving average of the admission rate: previous rate, n
 * admissions observed over elapsed_ms.  alpha weights the new sample.
 */
double queue_rate_update(double prev, long long n, long long elapsed_ms,
    double alpha);

/*
 * pollAfterSeconds of a WAITING token at position: one second, plus one
 * for every full `step` people ahead (step: the admission cap,
 * max_active_tokens, about what one admission round lets in), at most
 * poll_max:
 *
 *     min(poll_max, 1 + (position - 1) / step)
 *
 * so the front polls every second and the tail every poll_max seconds:
 * N waiting users make at most about
 * step * ln(min(N / step, poll_max)) + N / poll_max polls a second.  step < 1 counts as 1; the result is at least 1.
 */
long long queue_poll_after(long long position, long step, long poll_max);

/*
 * pollAfterSeconds of an ACTIVE token with `left` seconds of admission:
 * min(poll_max, max(1, left)) -- nothing changes before then.  An EXPIRED
 * token's is poll_max (nothing will change).
 */
long long queue_poll_after_active(long long left, long poll_max);

#endif
