/*
 * fuzz_jwt: auth_jwt_verify() (auth_jwt.c), the parser of the bearer
 * tokens of auth = jwt, under an HS256 key.  Byte 0 picks the mode:
 *   even: the rest is the token as sent (compact form, signature and all);
 *   odd:  the rest is "HEADER\nPAYLOAD" JSON text, which the harness
 *         encodes and signs with the key, so that the claims checks after
 *         the signature are reached too.
 * Properties: no crash or overrun; a token longer than AUTH_JWT_MAXLEN is
 * never accepted; an accepted token's header says alg HS256 and the reason
 * buffer is always a terminated string.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "fuzz.h"

#define KEY "fuzz-secret-fuzz-secret-fuzz-secret!"

static void
b64url(const unsigned char *in, size_t n, char *out)
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_verifier v = { .alg = AUTH_ALG_HS256,
	    .secret = (const unsigned char *)KEY, .secret_len = sizeof(KEY) - 1,
	    .issuer = "iss", .audience = "aud", .leeway = 5 };
	unsigned char sub[16], md[32];
	unsigned mdlen;
	char why[128], *tok;
	const uint8_t *nl;
	size_t n;
	int rc;

	if (size == 0 || size > 3 * AUTH_JWT_MAXLEN)
		return 0;
	if ((data[0] & 1) == 0) {
		tok = fuzz_strndup(data + 1, size - 1);
	} else {
		nl = memchr(data + 1, '\n', size - 1);
		if (nl == NULL)
			return 0;
		n = (size_t)(nl - data - 1);
		tok = malloc(4 * size + 64);
		if (tok == NULL)
			abort();
		b64url(data + 1, n, tok);
		strcat(tok, ".");
		b64url(nl + 1, size - 1 - n - 1, tok + strlen(tok));
		HMAC(EVP_sha256(), KEY, (int)sizeof(KEY) - 1,
		    (unsigned char *)tok, strlen(tok), md, &mdlen);
		strcat(tok, ".");
		b64url(md, mdlen, tok + strlen(tok));
		tok = fuzz_shrink(tok);
	}
	why[0] = '\0';
	rc = auth_jwt_verify(&v, tok, 2000000000LL, sub, why, sizeof(why));
	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL);
	if (rc == 0)
		FUZZ_ASSERT(strlen(tok) <= AUTH_JWT_MAXLEN);
	free(tok);
	return 0;
}
