/*
 * qtoken: queue tokens that prove their own sequence number.
 *
 * A token is 16 bytes (32 hex characters on the wire, as before):
 *
 *   seq (6 bytes, big-endian) || HMAC-SHA256(key, "concert-qtoken-v1" || seq)[0, 10)
 *
 * so a worker learns a token's place in line, and that we issued it,
 * without asking the database.  The MAC is OpenSSL's (libcrypto), compared
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
#define QTOKEN_SEQ_MAX    0xffffffffffffLL     /* 6 bytes */
#define QTOKEN_KEY_MAX    512

/* Use key[0, len) (1 <= len <= QTOKEN_KEY_MAX) from now on.  0 / -1. */
int qtoken_set_key(const void *key, size_t len);

/* 1 once qtoken_set_key() has succeeded. */
int qtoken_have_key(void);

/* The token of seq (1 <= seq <= QTOKEN_SEQ_MAX).  0, or -1 (no key, seq
 * out of range, libcrypto failure). */
int qtoken_mint(long long seq, unsigned char tok[QTOKEN_LEN]);

/* Check tok's MAC: 0 with *seq set, or -1 (forged, or no key). */
int qtoken_verify(const unsigned char tok[QTOKEN_LEN], long long *seq);

#endif
