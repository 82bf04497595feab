/* Unit tests: backoff. */
#include <criterion/criterion.h>

#include "backoff.h"

Test(backoff, doubles_from_min_to_the_cap_and_resets)
{
	struct backoff b = BACKOFF_INIT(100, 500);

	cr_assert(!backoff_waiting(&b, 0));
	backoff_fail(&b, 1000);
	cr_assert_eq(b.delay_ms, 100);
	cr_assert(backoff_waiting(&b, 1099));
	cr_assert(!backoff_waiting(&b, 1100));
	backoff_fail(&b, 2000);
	cr_assert_eq(b.delay_ms, 200);
	backoff_fail(&b, 3000);
	cr_assert_eq(b.delay_ms, 400);
	backoff_fail(&b, 4000);
	cr_assert_eq(b.delay_ms, 500);
	cr_assert_eq(b.until_ms, 4500);
	backoff_reset(&b);
	cr_assert(!backoff_waiting(&b, 4001));
	backoff_fail(&b, 5000);
	cr_assert_eq(b.delay_ms, 100);
}
