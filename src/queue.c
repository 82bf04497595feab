/*
 * queue: see queue.h.
 */
#include "queue.h"

#include <math.h>

long long
queue_position(long long seq, long long serving_seq)
{
	long long p = seq - serving_seq;

	return p < 1 ? 1 : p;
}

long long
queue_wait_seconds(long long position, double rate, long max_active,
    long active_ttl)
{
	double r = rate;
	double w;

	if (!(r > 0)) {
		r = active_ttl > 0 ? (double)max_active / (double)active_ttl : 1.0;
		if (!(r > 0))
			r = 1.0;
	}
	w = ceil((double)position / r);
	if (w < 1)
		w = 1;
	if (w > 1e12)
		w = 1e12;
	return (long long)w;
}

double
queue_rate_update(double prev, long long n, long long elapsed_ms, double alpha)
{
	double sample;

	if (elapsed_ms <= 0)
		return prev;
	sample = (double)n * 1000.0 / (double)elapsed_ms;
	if (!(prev > 0))
		return sample;
	return alpha * sample + (1.0 - alpha) * prev;
}

long long
queue_poll_after(long long position, long step, long poll_max)
{
	long long p;

	if (step < 1)
		step = 1;
	if (poll_max < 1)
		poll_max = 1;
	if (position < 1)
		position = 1;
	p = 1 + (position - 1) / step;
	return p > poll_max ? poll_max : p;
}

long long
queue_poll_after_active(long long left, long poll_max)
{
	if (poll_max < 1)
		poll_max = 1;
	if (left < 1)
		left = 1;
	return left > poll_max ? poll_max : left;
}
