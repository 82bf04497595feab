/*
 * shuffle: the pre-queue draw's permutation (issue 12 part 5), pure.
 *
 * The entrants of a concert's pre-queue are named by their join numbers
 * j (queue_tokens.pre_seq, 1, 2, ... in the order they joined).  Given a
 * 32-byte seed drawn at the opening (RAND_bytes), the order is:
 *
 *     key(j) = HMAC-SHA256(seed, "concert-draw-v1" || concert || j)
 *              (concert: 4 bytes, j: 8 bytes, both big-endian)
 *
 * entrants sorted by key(j) ascending (memcmp of the 32 bytes; equal
 * keys, which do not happen, by j).  The i-th entrant (0-based) gets seq
 * first_seq + i.  Anyone holding the seed and the entrants' numbers can
 * recompute it (tools/verify-draw does, with Python's hmac; so does
 * `concert-consumer --verify-draw`).  The seed decides nothing before it
 * exists, and it is drawn after the entrants are fixed.
 *
 * The entrants' digest, recorded with the draw, is SHA-256 over the
 * entrants' j as 8-byte big-endian numbers in ascending j order: the set
 * the draw saw.
 */
#ifndef CONCERT_SHUFFLE_H
#define CONCERT_SHUFFLE_H

#include <stddef.h>

#define SHUFFLE_SEED_LEN   32
#define SHUFFLE_METHOD     "hmac-sha256-v1"

/* A fresh seed from the OpenSSL CSPRNG.  0 / -1. */
int shuffle_seed(unsigned char seed[SHUFFLE_SEED_LEN]);

/*
 * Reorder j[0, n) (distinct join numbers, any order) into the drawn
 * order of concert's pre-queue under seed (see above).  0 / -1 (out of
 * memory, libcrypto failure: j is then unchanged).
 */
int shuffle_order(const unsigned char seed[SHUFFLE_SEED_LEN], int concert,
    long long *j, size_t n);

/* The entrants' digest of j[0, n) (ascending, see above) into out.
 * 0 / -1. */
int shuffle_digest(const long long *j, size_t n, unsigned char out[32]);

#endif
