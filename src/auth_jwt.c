/*
 * auth_jwt: the verifier of auth.h -- key loading and the compact JWS
 * form, pure (no database, no clock of its own), so that unit tests and
 * tests/fuzz/fuzz_jwt.c link it alone.
 *
 * Why not Debian's libjwt (1.10.2 in bookworm): its jwt_decode() takes
 * the algorithm from the token's own header and, given a PEM public key,
 * verifies an HS256 token with the PEM text as the HMAC secret (the
 * alg-confusion attack); it checks no claim at all (exp, nbf, iss, aud
 * validation came in 1.12).  Every caller would have to re-check all of
 * it, so the checks live here, on OpenSSL's EVP, already linked for the
 * queue tokens (qtoken.c).  No cryptography is written here: HMAC and
 * EVP_DigestVerify do it; this file only parses the compact form.
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "util.h"

static const char *const auth_alg_names[] = {
	[AUTH_ALG_HS256] = "HS256",
	[AUTH_ALG_RS256] = "RS256",
	[AUTH_ALG_ES256] = "ES256",
};

/* --- the key --- */

static int
auth_load_key(struct auth_verifier *v, const char *path, char *err,
    size_t errlen)
{
	EVP_PKEY *pk = NULL;
	FILE *fp;
	char group[64];
	size_t glen = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "'jwt_public_key_file': open '%s' failed: "
		    "%s", path, strerror(errno));
		return -1;
	}
	pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	if (pk == NULL) {
		snprintf(err, errlen, "'jwt_public_key_file': '%s' holds no PEM "
		    "public key", path);
		return -1;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pk) < 2048) {
			snprintf(err, errlen, "'jwt_public_key_file': the RSA "
			    "key in '%s' has fewer than 2048 bits", path);
			goto err;
		}
		v->alg = AUTH_ALG_RS256;
		break;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pk, group, sizeof(group),
		    &glen) != 1 || strcmp(group, "prime256v1") != 0) {
			snprintf(err, errlen, "'jwt_public_key_file': the EC "
			    "key in '%s' is not on P-256 (ES256)", path);
			goto err;
		}
		v->alg = AUTH_ALG_ES256;
		break;
	default:
		snprintf(err, errlen, "'jwt_public_key_file': '%s' is neither "
		    "an RSA nor an EC key", path);
		goto err;
	}
	v->pkey = pk;
	return 0;
err:
	EVP_PKEY_free(pk);
	return -1;
}

int
auth_verifier_init(struct auth_verifier *v, const struct config *cfg,
    char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->issuer = cfg->jwt_issuer;
	v->audience = cfg->jwt_audience;
	v->leeway = cfg->jwt_leeway_seconds;
	if (cfg->jwt_secret[0] != '\0') {
		v->alg = AUTH_ALG_HS256;
		v->secret = (const unsigned char *)cfg->jwt_secret;
		v->secret_len = strlen(cfg->jwt_secret);
		return 0;
	}
	if (cfg->jwt_public_key_file[0] == '\0') {
		snprintf(err, errlen, "no 'jwt_secret' and no "
		    "'jwt_public_key_file'");
		return -1;
	}
	return auth_load_key(v, cfg->jwt_public_key_file, err, errlen);
}

void
auth_verifier_free(struct auth_verifier *v)
{
	EVP_PKEY_free(v->pkey);
	v->pkey = NULL;
}

/* --- the compact form --- */

/* Strict base64url without padding (RFC 7515 section 2): any other
 * character, or a length that leaves stray bits, is refused.  Returns the
 * decoded length, or -1. */
static long
auth_b64url(const char *s, size_t n, unsigned char *out, size_t outlen)
{
	unsigned acc = 0;
	int bits = 0;
	size_t i, o = 0;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			d = c - '0' + 52;
		else if (c == '-')
			d = 62;
		else if (c == '_')
			d = 63;
		else
			return -1;
		acc = (acc << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* The last character's unused bits must be zero (one encoding). */
	if (acc != 0)
		return -1;
	return (long)o;
}

/* Decode a base64url JSON object segment.  NULL if it is not one. */
static json_object *
auth_segment_json(const char *s, size_t n)
{
	unsigned char buf[AUTH_JWT_MAXLEN];
	struct json_tokener *tok;
	json_object *o;
	long len;

	if ((len = auth_b64url(s, n, buf, sizeof(buf))) <= 0)
		return NULL;
	if (memchr(buf, '\0', (size_t)len) != NULL)
		return NULL;
	if ((tok = json_tokener_new_ex(8)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != (size_t)len ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* An ES256 signature is r || s, 32 bytes each; EVP wants DER. */
static int
auth_es256_der(const unsigned char *sig, size_t len, unsigned char **der,
    int *derlen)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;

	*der = NULL;
	if (len != 64)
		return -1;
	if ((es = ECDSA_SIG_new()) == NULL)
		return -1;
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	*derlen = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? 0 : -1;
}

/* 1 if sig is the signature of data under v, else 0. */
static int
auth_sig_ok(const struct auth_verifier *v, const char *data, size_t n,
    const unsigned char *sig, size_t siglen)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	int derlen = 0, ok = 0;

	if (v->alg == AUTH_ALG_HS256) {
		if (HMAC(EVP_sha256(), v->secret, (int)v->secret_len,
		    (const unsigned char *)data, n, md, &mdlen) == NULL)
			return 0;
		return siglen == mdlen && CRYPTO_memcmp(md, sig, mdlen) == 0;
	}
	if (v->pkey == NULL)
		return 0;
	if (v->alg == AUTH_ALG_ES256) {
		if (auth_es256_der(sig, siglen, &der, &derlen) == -1)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* The key's own scheme: PKCS#1 v1.5 for RSA, ECDSA for EC. */
	if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    (EVP_PKEY *)v->pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data,
	    n) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
out:
	OPENSSL_free(der);
	return ok;
}

/* A NumericDate claim (RFC 7519 section 2): seconds, integer or not.
 * 1 with *t set, 0 if absent, -1 if not a number. */
static int
auth_numeric_date(json_object *claims, const char *name, int64_t *t)
{
	json_object *j;

	if (!json_object_object_get_ex(claims, name, &j))
		return 0;
	if (json_object_is_type(j, json_type_int)) {
		*t = json_object_get_int64(j);
		return 1;
	}
	if (json_object_is_type(j, json_type_double)) {
		double d = json_object_get_double(j);

		if (d < -9.0e15 || d > 9.0e15)
			return -1;
		*t = (int64_t)d;
		return 1;
	}
	return -1;
}

/* 1 if the aud claim (a string or an array of strings) names aud. */
static int
auth_aud_ok(json_object *claims, const char *aud)
{
	json_object *j;
	size_t i, n;

	if (!json_object_object_get_ex(claims, "aud", &j))
		return 0;
	if (json_object_is_type(j, json_type_string))
		return strcmp(json_object_get_string(j), aud) == 0;
	if (!json_object_is_type(j, json_type_array))
		return 0;
	n = json_object_array_length(j);
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(j, i);

		if (json_object_is_type(e, json_type_string) &&
		    strcmp(json_object_get_string(e), aud) == 0)
			return 1;
	}
	return 0;
}

#define AUTH_WHY(...) do { snprintf(why, whylen, __VA_ARGS__); goto out; } \
	while (0)

int
auth_jwt_verify(const struct auth_verifier *v, const char *jwt, int64_t now,
    unsigned char sub[16], char *why, size_t whylen)
{
	json_object *hdr = NULL, *claims = NULL, *j;
	unsigned char sig[1024];        /* RSA up to 8192 bits */
	const char *d1, *d2, *alg;
	size_t len;
	long siglen;
	int64_t t;
	int rc = -1, has;

	len = strnlen(jwt, AUTH_JWT_MAXLEN + 1);
	if (len > AUTH_JWT_MAXLEN)
		AUTH_WHY("the token is longer than %d bytes", AUTH_JWT_MAXLEN);
	if ((d1 = strchr(jwt, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		AUTH_WHY("the token is not a signed JWT (three dot-separated "
		    "parts)");
	if ((hdr = auth_segment_json(jwt, (size_t)(d1 - jwt))) == NULL)
		AUTH_WHY("the token's header is not base64url JSON");
	/* The key decides the algorithm; the header may only agree. */
	if (!json_object_object_get_ex(hdr, "alg", &j) ||
	    !json_object_is_type(j, json_type_string))
		AUTH_WHY("the token's header names no alg");
	alg = json_object_get_string(j);
	if (strcmp(alg, auth_alg_names[v->alg]) != 0)
		AUTH_WHY("alg %s is not accepted (only %s)",
		    strcmp(alg, "none") == 0 ? "none" : "of the token",
		    auth_alg_names[v->alg]);
	/* RFC 7515 section 4.1.11: extensions we do not know must fail. */
	if (json_object_object_get_ex(hdr, "crit", NULL))
		AUTH_WHY("the token's header has a crit extension");
	siglen = auth_b64url(d2 + 1, strlen(d2 + 1), sig, sizeof(sig));
	if (siglen <= 0)
		AUTH_WHY("the token's signature is not base64url");
	if (!auth_sig_ok(v, jwt, (size_t)(d2 - jwt), sig, (size_t)siglen))
		AUTH_WHY("the token's signature does not verify");
	/* Only a verified payload is parsed. */
	if ((claims = auth_segment_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL)
		AUTH_WHY("the token's payload is not base64url JSON");
	if ((has = auth_numeric_date(claims, "exp", &t)) != 1)
		AUTH_WHY(has == 0 ? "the token has no exp" :
		    "the token's exp is not a number");
	/* now and leeway are small: no overflow on this side (t may be
	 * anything up to INT64_MAX; found by fuzz_jwt). */
	if (now - v->leeway > t)
		AUTH_WHY("the token has expired");
	if ((has = auth_numeric_date(claims, "nbf", &t)) == -1)
		AUTH_WHY("the token's nbf is not a number");
	if (has == 1 && now + v->leeway < t)
		AUTH_WHY("the token is not valid yet (nbf)");
	if (v->issuer != NULL && v->issuer[0] != '\0' &&
	    (!json_object_object_get_ex(claims, "iss", &j) ||
	    !json_object_is_type(j, json_type_string) ||
	    strcmp(json_object_get_string(j), v->issuer) != 0))
		AUTH_WHY("the token's issuer is not the configured one");
	if (v->audience != NULL && v->audience[0] != '\0' &&
	    !auth_aud_ok(claims, v->audience))
		AUTH_WHY("the token is not for this audience");
	if (!json_object_object_get_ex(claims, "sub", &j) ||
	    !json_object_is_type(j, json_type_string) ||
	    util_uuid_parse(json_object_get_string(j), sub) == -1)
		AUTH_WHY("the token's sub is not a user id (UUID)");
	rc = 0;
out:
	json_object_put(hdr);
	json_object_put(claims);
	return rc;
}
