/* Unit tests: clock. */
#include <criterion/criterion.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

Test(clock, monotonic_never_goes_back)
{
	int64_t prev = clock_mono_us(), now;
	int i;

	for (i = 0; i < 100000; i++) {
		now = clock_mono_us();
		cr_assert_geq(now, prev);
		prev = now;
	}
}

Test(clock, milliseconds_agree_with_microseconds_and_advance)
{
	int64_t ms = clock_mono_ms(), us = clock_mono_us();

	cr_assert_geq(us / 1000, ms);
	cr_assert_leq(us / 1000 - ms, 5);
	usleep(20000);
	cr_assert_geq(clock_mono_ms() - ms, 20);
}

Test(clock, wall_is_the_epoch_in_milliseconds)
{
	int64_t before = (int64_t)time(NULL) * 1000, w = clock_wall_ms();

	cr_assert_geq(w, before);
	cr_assert_lt(w, before + 2000);
}
