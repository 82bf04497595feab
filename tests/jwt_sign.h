/*
 * jwt_sign: JWT encoding for the tests (tests/unit/test_auth.c and
 * tests/fuzz/fuzz_jwt.c): base64url without padding and an HS256
 * signature with OpenSSL's HMAC.  The server only verifies (auth_jwt.c);
 * this side exists only to make the tokens it is fed.
 */
#ifndef CONCERT_TESTS_JWT_SIGN_H
#define CONCERT_TESTS_JWT_SIGN_H

#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* n bytes of in as base64url, no padding, terminated; out holds
 * 4 * n / 3 + 4 bytes. */
static inline void
jwt_b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned acc = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

/* out = b64url(hdr).b64url(payload).b64url(HS256 under key), from hdr_len
 * and payload_len bytes; key NULL: no signature (a trailing "."). */
static inline void
jwt_hs256(const void *hdr, size_t hdr_len, const void *payload,
    size_t payload_len, const void *key, size_t key_len, char *out)
{
	unsigned char md[32];
	unsigned mdlen;
	char *p = out;

	jwt_b64url(hdr, hdr_len, p);
	p += strlen(p);
	*p++ = '.';
	jwt_b64url(payload, payload_len, p);
	p += strlen(p);
	if (key == NULL) {
		strcpy(p, ".");
		return;
	}
	HMAC(EVP_sha256(), key, (int)key_len, (unsigned char *)out,
	    (size_t)(p - out), md, &mdlen);
	*p++ = '.';
	jwt_b64url(md, mdlen, p);
}

#endif
