/*
 * clock: the one place both programs read the time.
 *
 * Two clocks, never mixed: the monotonic clock for every interval, timeout
 * and back-off (it does not jump when the wall clock is set), and the wall
 * clock (UTC since the epoch) only for what is compared with times that
 * leave the process: log stamps, event times, hold deadlines from Kafka.
 */
#ifndef CONCERT_CLOCK_H
#define CONCERT_CLOCK_H

#include <stdint.h>

/* Milliseconds / microseconds of CLOCK_MONOTONIC (arbitrary origin). */
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);

#endif
