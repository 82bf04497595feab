/*
 * util: small pure helpers shared by both programs (UUIDs, tokens, hex,
 * time formatting).  No I/O except util_random; the time comes from clock.h.
 */
#ifndef CONCERT_UTIL_H
#define CONCERT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN  37   /* 36 chars + NUL */
#define TOKEN_STR_LEN 33   /* 32 hex chars + NUL */
#define ISO_TIME_LEN  32

/* Parse a canonical 8-4-4-4-12 hex UUID (any case).  0 / -1. */
int util_uuid_parse(const char *s, unsigned char out[16]);

/* Format 16 bytes as a lowercase canonical UUID. */
void util_uuid_format(const unsigned char in[16], char out[UUID_STR_LEN]);

/* A new random (version 4) UUID. */
void util_uuid_new(unsigned char out[16]);

/* Fill buf with len cryptographically random bytes (getrandom).  0 / -1. */
int util_random(void *buf, size_t len);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void util_hex(const unsigned char *in, size_t len, char *out);

/* Parse exactly 2*len hex chars.  0 / -1. */
int util_unhex(const char *s, unsigned char *out, size_t len);

/* "YYYY-MM-DD HH:MM:SS[.fff]" (MySQL DATETIME) to ISO-8601 UTC
 * "YYYY-MM-DDTHH:MM:SS.fffZ".  0 / -1. */
int util_mysql_to_iso(const char *in, char *out, size_t outlen);

/* Strict calendar date "YYYY-MM-DD" (real day of a real month, 1000..9999).
 * 0 / -1. */
int util_date_valid(const char *s);

/* ISO-8601 UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" of a wall-clock time in ms since
 * the epoch (util_iso_time) or of now (util_now_iso); out needs
 * ISO_TIME_LEN bytes. */
void util_iso_time(int64_t epoch_ms, char *out, size_t len);
void util_now_iso(char *out, size_t len);

#endif
