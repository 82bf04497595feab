/*
 * shuffle: the pre-queue draw's permutation, and pre-queue tokens.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "consumer/shuffle.h"
#include "qtoken.h"

#define N 500

static void
fill(long long *j, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		j[i] = (long long)i + 1;
}

static void
seed_of(unsigned char s[SHUFFLE_SEED_LEN], unsigned char b)
{
	memset(s, b, SHUFFLE_SEED_LEN);
}

Test(shuffle_order, same_seed_same_order)
{
	long long a[N], b[N];
	unsigned char s[SHUFFLE_SEED_LEN];
	size_t i;

	seed_of(s, 7);
	fill(a, N);
	/* The input order does not matter: b starts reversed. */
	for (i = 0; i < N; i++)
		b[i] = N - (long long)i;
	cr_assert_eq(shuffle_order(s, 5, a, N), 0);
	cr_assert_eq(shuffle_order(s, 5, b, N), 0);
	cr_assert_arr_eq(a, b, sizeof(a));
}

Test(shuffle_order, different_seeds_differ)
{
	long long a[N], b[N];
	unsigned char s[SHUFFLE_SEED_LEN], t[SHUFFLE_SEED_LEN];

	seed_of(s, 1);
	seed_of(t, 2);
	fill(a, N);
	fill(b, N);
	cr_assert_eq(shuffle_order(s, 5, a, N), 0);
	cr_assert_eq(shuffle_order(t, 5, b, N), 0);
	cr_assert(memcmp(a, b, sizeof(a)) != 0);
}

Test(shuffle_order, another_concert_differs)
{
	long long a[N], b[N];
	unsigned char s[SHUFFLE_SEED_LEN];

	seed_of(s, 1);
	fill(a, N);
	fill(b, N);
	cr_assert_eq(shuffle_order(s, 5, a, N), 0);
	cr_assert_eq(shuffle_order(s, 6, b, N), 0);
	cr_assert(memcmp(a, b, sizeof(a)) != 0);
}

Test(shuffle_order, is_a_permutation_and_shuffles)
{
	long long a[N];
	unsigned char s[SHUFFLE_SEED_LEN], seen[N + 1];
	size_t i, fixed = 0;

	cr_assert_eq(shuffle_seed(s), 0);
	fill(a, N);
	cr_assert_eq(shuffle_order(s, 2, a, N), 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < N; i++) {
		cr_assert(a[i] >= 1 && a[i] <= N);
		cr_assert_eq(seen[a[i]], 0, "%lld twice", a[i]);
		seen[a[i]] = 1;
		fixed += a[i] == (long long)i + 1;
	}
	/* A uniform permutation of 500 fixes about 1 element. */
	cr_assert(fixed < 20, "%zu fixed points", fixed);
}

Test(shuffle_order, empty_and_single)
{
	long long a[1] = { 42 };
	unsigned char s[SHUFFLE_SEED_LEN];

	seed_of(s, 3);
	cr_assert_eq(shuffle_order(s, 1, a, 0), 0);
	cr_assert_eq(shuffle_order(s, 1, a, 1), 0);
	cr_assert_eq(a[0], 42);
}

/* A known answer, so the documented rule (and tools/verify-draw) stay
 * the rule: seed 32 x 0x00, concert 1, entrants 1..5, computed with
 * Python's hmac (HMAC-SHA256(seed, b"concert-draw-v1" + c.to_bytes(4) +
 * j.to_bytes(8)), sorted ascending). */
Test(shuffle_order, known_answer)
{
	long long a[5] = { 1, 2, 3, 4, 5 };
	long long want[5] = { 3, 1, 5, 2, 4 };
	unsigned char s[SHUFFLE_SEED_LEN];

	seed_of(s, 0);
	cr_assert_eq(shuffle_order(s, 1, a, 5), 0);
	cr_assert_arr_eq(a, want, sizeof(a));
}

Test(shuffle_digest, ignores_input_order)
{
	long long a[3] = { 3, 1, 2 }, b[3] = { 1, 2, 3 };
	unsigned char x[32], y[32];

	cr_assert_eq(shuffle_digest(a, 3, x), 0);
	cr_assert_eq(shuffle_digest(b, 3, y), 0);
	cr_assert_arr_eq(x, y, 32);
	b[2] = 4;
	cr_assert_eq(shuffle_digest(b, 3, y), 0);
	cr_assert(memcmp(x, y, 32) != 0);
}

Test(qtoken_pre, pre_tokens_verify_as_pre_only)
{
	unsigned char tok[QTOKEN_LEN];
	long long seq;
	int concert, pre;

	cr_assert_eq(qtoken_set_key("k", 1), 0);
	cr_assert_eq(qtoken_mint_pre(1, 9, tok), 0);
	cr_assert_eq(qtoken_verify(tok, &concert, &seq), -1);
	cr_assert_eq(qtoken_verify_any(tok, &concert, &seq, &pre), 0);
	cr_assert_eq(concert, 1);
	cr_assert_eq(seq, 9);
	cr_assert_eq(pre, 1);
	cr_assert_eq(qtoken_mint_pre(300, 77, tok), 0);
	cr_assert_eq(qtoken_verify_any(tok, &concert, &seq, &pre), 0);
	cr_assert_eq(concert, 300);
	cr_assert_eq(seq, 77);
	cr_assert_eq(pre, 1);
	tok[15] ^= 1;
	cr_assert_eq(qtoken_verify_any(tok, &concert, &seq, &pre), -1);
	/* A seq token is not a pre-queue one. */
	cr_assert_eq(qtoken_mint(300, 77, tok), 0);
	cr_assert_eq(qtoken_verify_any(tok, &concert, &seq, &pre), 0);
	cr_assert_eq(pre, 0);
	cr_assert_eq(qtoken_mint(1, 77, tok), 0);
	cr_assert_eq(qtoken_verify_any(tok, &concert, &seq, &pre), 0);
	cr_assert_eq(pre, 0);
	cr_assert_eq(concert, 1);
}
