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

#include "auth.h"
#include "fuzz.h"
#include "../jwt_sign.h"

#define KEY "fuzz-secret-fuzz-secret-fuzz-secret!"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_verifier v = { .alg = AUTH_ALG_HS256,
	    .secret = (const unsigned char *)KEY, .secret_len = sizeof(KEY) - 1,
	    .issuer = "iss", .audience = "aud", .leeway = 5 };
	unsigned char sub[16];
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
		jwt_hs256(data + 1, n, nl + 1, size - 1 - n - 1, KEY,
		    sizeof(KEY) - 1, tok);
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
