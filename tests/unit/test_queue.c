/*
 * queue: the waiting-queue arithmetic, and the tokens' signature (qtoken).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "qtoken.h"
#include "queue.h"

Test(queue_poll_after, front_of_the_line_polls_every_second)
{
	cr_assert_eq(queue_poll_after(1, 100, 30), 1);
	cr_assert_eq(queue_poll_after(100, 100, 30), 1);
}

Test(queue_poll_after, one_more_second_per_admission_round_ahead)
{
	cr_assert_eq(queue_poll_after(101, 100, 30), 2);
	cr_assert_eq(queue_poll_after(200, 100, 30), 2);
	cr_assert_eq(queue_poll_after(201, 100, 30), 3);
	cr_assert_eq(queue_poll_after(2900, 100, 30), 29);
	cr_assert_eq(queue_poll_after(2901, 100, 30), 30);
}

Test(queue_poll_after, capped_at_poll_max_far_back)
{
	cr_assert_eq(queue_poll_after(100000, 100, 30), 30);
	cr_assert_eq(queue_poll_after(1LL << 50, 100, 30), 30);
	cr_assert_eq(queue_poll_after(100000, 100, 5), 5);
}

Test(queue_poll_after, grows_monotonically_with_the_position)
{
	long long pos, prev = 0;

	for (pos = 1; pos < 5000; pos++) {
		long long p = queue_poll_after(pos, 7, 30);

		cr_assert(p >= prev && p >= 1 && p <= 30, "pos %lld: %lld", pos, p);
		prev = p;
	}
}

Test(queue_poll_after, degenerate_arguments_still_give_at_least_one)
{
	cr_assert_eq(queue_poll_after(0, 100, 30), 1);
	cr_assert_eq(queue_poll_after(-5, 100, 30), 1);
	cr_assert_eq(queue_poll_after(10, 0, 30), 10);
	cr_assert_eq(queue_poll_after(10, 1, 0), 1);
}

Test(queue_poll_after, active_token_polls_no_sooner_than_its_end_or_the_max)
{
	cr_assert_eq(queue_poll_after_active(600, 30), 30);
	cr_assert_eq(queue_poll_after_active(12, 30), 12);
	cr_assert_eq(queue_poll_after_active(0, 30), 1);
}

Test(queue_position, is_seq_minus_serving_and_at_least_one)
{
	cr_assert_eq(queue_position(10, 4), 6);
	cr_assert_eq(queue_position(4, 10), 1);
}

static void
key_setup(void)
{
	cr_assert_eq(qtoken_set_key("test-secret-0123456789", 22), 0);
}

Test(qtoken, minted_token_verifies_to_its_seq, .init = key_setup)
{
	unsigned char t[QTOKEN_LEN];
	long long seq = 0;
	int concert = 0;

	cr_assert_eq(qtoken_mint(1, 123456789, t), 0);
	cr_assert_eq(qtoken_verify(t, &concert, &seq), 0);
	cr_assert_eq(seq, 123456789);
	cr_assert_eq(concert, 1);
	cr_assert_eq(qtoken_mint(1, QTOKEN_SEQ_MAX_V1, t), 0);
	cr_assert_eq(qtoken_verify(t, &concert, &seq), 0);
	cr_assert_eq(seq, QTOKEN_SEQ_MAX_V1);
	cr_assert_eq(concert, 1);
}

Test(qtoken, minted_token_verifies_to_its_concert, .init = key_setup)
{
	unsigned char t[QTOKEN_LEN];
	long long seq = 0;
	int concert = 0;

	cr_assert_eq(qtoken_mint(2, 99, t), 0);
	cr_assert_eq(qtoken_verify(t, &concert, &seq), 0);
	cr_assert_eq(concert, 2);
	cr_assert_eq(seq, 99);
	cr_assert_eq(qtoken_mint(QTOKEN_CONCERT_MAX, QTOKEN_SEQ_MAX, t), 0);
	cr_assert_eq(qtoken_verify(t, &concert, &seq), 0);
	cr_assert_eq(concert, QTOKEN_CONCERT_MAX);
	cr_assert_eq(seq, QTOKEN_SEQ_MAX);
	cr_assert_eq(qtoken_mint(2, QTOKEN_SEQ_MAX + 1, t), -1);
}

/* The same seq in two lines: two different tokens, and the concert bytes
 * cannot be moved to another line (the MAC covers them). */
Test(qtoken, a_token_does_not_move_to_another_concert, .init = key_setup)
{
	unsigned char a[QTOKEN_LEN], b[QTOKEN_LEN];
	long long seq;
	int concert;

	cr_assert_eq(qtoken_mint(1, 5, a), 0);
	cr_assert_eq(qtoken_mint(3, 5, b), 0);
	cr_assert_neq(memcmp(a, b, QTOKEN_LEN), 0);
	b[1] = 4;
	cr_assert_eq(qtoken_verify(b, &concert, &seq), -1);
	a[1] = 3;                     /* concert 1's bytes read as concert 3 */
	cr_assert_eq(qtoken_verify(a, &concert, &seq), -1);
}

Test(qtoken, concert_out_of_range_is_not_minted, .init = key_setup)
{
	unsigned char t[QTOKEN_LEN];

	cr_assert_eq(qtoken_mint(0, 1, t), -1);
	cr_assert_eq(qtoken_mint(QTOKEN_CONCERT_MAX + 1, 1, t), -1);
}

/* Known answer (Python's hmac) of another concert: 2 bytes concert, 4
 * bytes seq, HMAC-SHA256(key, "concert-qtoken-v2" || those 6 bytes). */
Test(qtoken, mac_of_another_concert_is_tagged_v2)
{
	static const unsigned char want[QTOKEN_LEN] = {
		0x00, 0x07, 0x00, 0x00, 0x00, 0x05, 0xac, 0x52, 0x4c, 0x8b, 0x9e, 0x22, 0x3c, 0x3c, 0x9b, 0xbd,
	};
	unsigned char t[QTOKEN_LEN];

	cr_assert_eq(qtoken_set_key("Jefe", 4), 0);
	cr_assert_eq(qtoken_mint(7, 5, t), 0);
	cr_assert_eq(memcmp(t, want, QTOKEN_LEN), 0);
}

Test(qtoken, any_flipped_bit_is_refused, .init = key_setup)
{
	unsigned char t[QTOKEN_LEN], u[QTOKEN_LEN];
	long long seq = -1;
	int i, b, concert;

	cr_assert_eq(qtoken_mint(42, 42, t), 0);
	for (i = 0; i < QTOKEN_LEN; i++)
		for (b = 0; b < 8; b++) {
			memcpy(u, t, sizeof(u));
			u[i] ^= (unsigned char)(1 << b);
			cr_assert_eq(qtoken_verify(u, &concert, &seq), -1, "byte %d bit %d", i, b);
		}
	cr_assert_eq(seq, -1);
}

Test(qtoken, another_key_refuses_the_token, .init = key_setup)
{
	unsigned char t[QTOKEN_LEN];
	long long seq;
	int concert;

	cr_assert_eq(qtoken_mint(1, 7, t), 0);
	cr_assert_eq(qtoken_set_key("another-secret", 14), 0);
	cr_assert_eq(qtoken_verify(t, &concert, &seq), -1);
}

Test(qtoken, seq_out_of_range_is_not_minted, .init = key_setup)
{
	unsigned char t[QTOKEN_LEN];

	cr_assert_eq(qtoken_mint(1, 0, t), -1);
	cr_assert_eq(qtoken_mint(1, QTOKEN_SEQ_MAX_V1 + 1, t), -1);
}

Test(qtoken, nothing_is_signed_or_accepted_without_a_key)
{
	unsigned char t[QTOKEN_LEN] = { 0 };
	long long seq;
	int concert;

	cr_assert_eq(qtoken_have_key(), 0);
	cr_assert_eq(qtoken_mint(1, 1, t), -1);
	cr_assert_eq(qtoken_verify(t, &concert, &seq), -1);
	cr_assert_eq(qtoken_set_key("", 0), -1);
}

/* Known answer (Python's hmac): the tail is HMAC-SHA256(key,
 * "concert-qtoken-v1" || seq as 6 big-endian bytes), first 10 bytes. */
Test(qtoken, mac_is_hmac_sha256_of_tag_and_seq)
{
	static const unsigned char want[QTOKEN_LEN] = {
		0, 0, 0, 0, 0, 1,
		0x0a, 0x85, 0x9c, 0xf3, 0x0f, 0x3b, 0x29, 0x88, 0xeb, 0x5d,
	};
	unsigned char t[QTOKEN_LEN];

	cr_assert_eq(qtoken_set_key("Jefe", 4), 0);
	cr_assert_eq(qtoken_mint(1, 1, t), 0);
	cr_assert_eq(memcmp(t, want, QTOKEN_LEN), 0);
}
