/*
 * auth: who the caller of a request is.
 *
 *   auth = open (the default): the caller is the userId the client sent,
 *     as before this module existed.
 *   auth = jwt: a route flagged ROUTE_USER needs "Authorization: Bearer
 *     <JWT>" from the operator's identity provider.  It is verified before
 *     any database work (signature with the one configured key, exp, nbf,
 *     iss, aud); the caller is its `sub` claim (a UUID).  A userId in the
 *     body or query must equal it (403 USER_MISMATCH); a missing one is
 *     filled from it.  A queue token presented with it must be one of that
 *     user's (403 USER_MISMATCH).  The queue token then travels in its own
 *     header, X-Queue-Token, or the body member "token".
 *
 * Either way, after auth_params() the request's P_USER_ID is the caller:
 * handlers and idem.c take the user from there and nowhere else.
 *
 * The algorithm is the key's, never the token's: jwt_secret means HS256,
 * an RSA public key RS256, a P-256 public key ES256.  A token naming any
 * other alg ("none", or HS256 signed with the PEM text as its secret) is
 * refused before its signature is looked at.  OpenSSL's EVP does the
 * cryptography; json-c parses header and claims.
 */
#ifndef CONCERT_AUTH_H
#define CONCERT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"
#include "validate.h"

/* The mode is the config key `auth` (enum config_auth in config.h, where
 * config_check() also checks that the jwt_* keys go together). */

/* Longest JWT read at all: a longer Authorization value is 401 before any
 * parsing (identity providers' tokens are well under 2 KiB). */
#define AUTH_JWT_MAXLEN 8192

enum auth_alg { AUTH_ALG_HS256, AUTH_ALG_RS256, AUTH_ALG_ES256 };

/* What a token is checked against (auth_verifier_init). */
struct auth_verifier {
	enum auth_alg alg;          /* the only one accepted */
	const unsigned char *secret;   /* HS256 */
	size_t secret_len;
	void *pkey;                 /* RS256/ES256: an EVP_PKEY (owned) */
	const char *issuer;         /* NULL or "": not checked */
	const char *audience;       /* NULL or "": not checked */
	long leeway;                /* seconds of clock skew on exp/nbf */
};

/*
 * Set v up from the jwt_* keys of cfg (which must outlive v): the secret,
 * or the PEM public key read from jwt_public_key_file (RSA of at least
 * 2048 bits, or EC P-256).  0, or -1 with a one-line message naming the
 * key in err.
 */
int auth_verifier_init(struct auth_verifier *v, const struct config *cfg,
    char *err, size_t errlen);

/* Free what auth_verifier_init() allocated. */
void auth_verifier_free(struct auth_verifier *v);

/*
 * Verify the compact JWS jwt at time now (seconds since the epoch) and
 * return its subject in sub.  Pure.  0, or -1 with why saying what is
 * wrong with it ("expired", "signature does not verify") -- never any
 * part of the token.  Every claim is checked: exp is required.
 */
int auth_jwt_verify(const struct auth_verifier *v, const char *jwt,
    int64_t now, unsigned char sub[16], char *why, size_t whylen);

/*
 * Per process: the master checks the key (concertd start, fatal), each
 * worker loads it after fork.  auth_init() is a no-op under auth = open.
 * auth_prepare() declares its statement (app_init, with the others).
 */
int auth_init(const struct config *cfg, char *err, size_t errlen);
void auth_fini(void);
int auth_prepare(void);

enum auth_result {
	AUTH_PASS = 0,     /* p holds the validated parameters and caller */
	AUTH_REFUSED = 1,  /* w holds the 4xx answer */
	AUTH_DBERR = -1,   /* the token owner lookup failed: a db answer */
};

/*
 * The one place that decides the caller: validate the route's parameters
 * (want, required, query as for validate_params()) into p and, for a
 * user route under auth = jwt, verify the bearer JWT first, then settle
 * P_USER_ID from its subject and check a queue token's owner.
 */
enum auth_result auth_params(const struct config *cfg, int user_route,
    const struct http_req *r, unsigned want, unsigned required,
    unsigned query, struct params *p, struct http_resp *w);

#endif
