/*
 * qtoken: queue tokens that prove their concert and sequence number.
 *
 * A token is 16 bytes (32 hex characters on the wire, as before):
 *
 *   v2, concert c >= 2:
 *     c (2 bytes) || seq (4 bytes) || HMAC-SHA256(key, "concert-qtoken-v2" || c || seq)[0, 10)
 *   v1, the default concert 1 (exactly the issue-10 layout, so tokens
 *   issued before concerts existed stay valid):
 *     seq (6 bytes) || HMAC-SHA256(key, "concert-qtoken-v1" || seq)[0, 10)
 *
 *   pre, a join into a concert's pre-queue (issue 12 part 5), before its
 *   place is drawn:
 *     c (2 bytes) || j (4 bytes) || HMAC-SHA256(key, "concert-qtoken-p1" || c || j)[0, 10)
 *   where j is the join's number in the pre-queue (queue_tokens.pre_seq),
 *   not a seq: the token names the join, the database says which seq the
 *   draw gave it.  c is the concert, 1 included.
 *
 * all big-endian.  The tags keep the two apart: a token's first two bytes
 * are non-zero in v2 (c >= 2), and in v1 only for a seq of 2^32 or more,
 * which is then told by its MAC.  So a worker learns a token's line and place in
 * it, and that we issued it, without asking the database.  The MAC is OpenSSL's (libcrypto), compared
 * in constant time; 80 bits of it make a forgery a 2^-80 guess per try.
 * Whoever holds the key can mint any token: token_secret is as sensitive
 * as db_password, and changing it invalidates every token issued.
 *
 * The key is per process (set once, before the first mint or check).
 */
#ifndef CONCERT_QTOKEN_H
#define CONCERT_QTOKEN_H

#include <stddef.h>

#define QTOKEN_LEN        16
#define QTOKEN_SEQ_MAX    0xffffffffLL         /* 4 bytes (v2) */
#define QTOKEN_SEQ_MAX_V1 0xffffffffffffLL     /* 6 bytes (concert 1) */
#define QTOKEN_CONCERT_MAX 65535               /* 2 bytes */
#define QTOKEN_KEY_MAX    512

/* Use key[0, len) (1 <= len <= QTOKEN_KEY_MAX) from now on.  0 / -1. */
int qtoken_set_key(const void *key, size_t len);

/* 1 once qtoken_set_key() has succeeded. */
int qtoken_have_key(void);

/* The token of seq in concert's line (1 <= concert <= QTOKEN_CONCERT_MAX,
 * 1 <= seq <= QTOKEN_SEQ_MAX).  0, or -1 (no key, out of range,
 * libcrypto failure). */
int qtoken_mint(int concert, long long seq, unsigned char tok[QTOKEN_LEN]);

/* The pre-queue token of join j (1 <= j <= QTOKEN_SEQ_MAX) of concert.
 * 0 / -1 as qtoken_mint(). */
int qtoken_mint_pre(int concert, long long j, unsigned char tok[QTOKEN_LEN]);

/* Check tok's MAC: 0 with *concert and *seq set, or -1 (forged, a
 * pre-queue token, or no key). */
int qtoken_verify(const unsigned char tok[QTOKEN_LEN], int *concert,
    long long *seq);

/* qtoken_verify(), also accepting pre-queue tokens: 0 with *concert and
 * *seq set and *pre 1 when *seq is a pre-queue join number (0: a seq). */
int qtoken_verify_any(const unsigned char tok[QTOKEN_LEN], int *concert,
    long long *seq, int *pre);

#endif
