/*
 * Unit tests: the pure part of idem.c, the Idempotency-Key header check.
 * The rest of idem.c is SQL inside the request's transaction (claim the
 * key's row, replay or store the answer); the integration tests cover it
 * (tests/integration: idempotency replays, reuse with another body,
 * concurrent duplicates).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "idem.h"

Test(idem_key, accepts_visible_ascii_up_to_200)
{
	char key[201];

	cr_assert_eq(idem_key_valid("a"), 0);
	cr_assert_eq(idem_key_valid("123e4567-e89b-12d3-a456-426614174000"), 0);
	cr_assert_eq(idem_key_valid("!~{}\"\\"), 0);
	memset(key, 'k', 200);
	key[200] = '\0';
	cr_assert_eq(idem_key_valid(key), 0);
}

Test(idem_key, refuses_empty_long_blank_and_non_ascii)
{
	char key[202];

	cr_assert_eq(idem_key_valid(""), -1);
	memset(key, 'k', 201);
	key[201] = '\0';
	cr_assert_eq(idem_key_valid(key), -1);
	cr_assert_eq(idem_key_valid("a b"), -1);
	cr_assert_eq(idem_key_valid("a\tb"), -1);
	cr_assert_eq(idem_key_valid("tail\x7f"), -1);
	cr_assert_eq(idem_key_valid("caf\xc3\xa9"), -1);
	cr_assert_eq(idem_key_valid("\x01"), -1);
}
