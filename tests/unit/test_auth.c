/* Unit tests: JWT verification (auth_jwt_verify) and the caller hook
 * (auth_params) without a database: tokens are signed here with OpenSSL. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth.h"
#include "config.h"
#include "util.h"
#include "validate.h"
#include "../jwt_sign.h"

#define SECRET "0123456789abcdef0123456789abcdef-test"
#define SUB "6f1c2a4e-8b3d-4c5e-9f70-112233445566"
#define NOW 2000000000LL

/* header.payload signed with HS256 under key (NULL: no signature). */
static void
hs256(const char *hdr, const char *payload, const char *key, char *out)
{
	jwt_hs256(hdr, strlen(hdr), payload, strlen(payload), key,
	    key != NULL ? strlen(key) : 0, out);
}

static struct auth_verifier v;
static struct config cfg;

static void
setup_hs(void)
{
	char err[256];

	config_defaults(&cfg);
	cfg.auth = CONFIG_AUTH_JWT;
	snprintf(cfg.jwt_secret, sizeof(cfg.jwt_secret), "%s", SECRET);
	snprintf(cfg.jwt_issuer, sizeof(cfg.jwt_issuer), "https://idp.test");
	snprintf(cfg.jwt_audience, sizeof(cfg.jwt_audience), "concert");
	cfg.jwt_leeway_seconds = 30;
	cr_assert_eq(auth_verifier_init(&v, &cfg, err, sizeof(err)), 0, "%s",
	    err);
}

static void
teardown_hs(void)
{
	auth_verifier_free(&v);
}

#define HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define CLAIMS(extra) "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\"," \
	"\"aud\":\"concert\",\"exp\":2000000100" extra "}"

/* 0 and the subject, or -1 with why containing want. */
static void
expect(const char *jwt, const char *want)
{
	unsigned char sub[16];
	char why[128] = "", s[40];
	int rc = auth_jwt_verify(&v, jwt, NOW, sub, why, sizeof(why));

	if (want == NULL) {
		cr_assert_eq(rc, 0, "refused: %s", why);
		util_uuid_format(sub, s);
		cr_assert_str_eq(s, SUB);
	} else {
		cr_assert_eq(rc, -1, "accepted, expected '%s'", want);
		cr_assert(strstr(why, want) != NULL, "'%s' lacks '%s'", why, want);
	}
}

TestSuite(auth, .init = setup_hs, .fini = teardown_hs);

Test(auth, hs256_valid_gives_sub)
{
	char t[1024];

	hs256(HDR, CLAIMS(""), SECRET, t);
	expect(t, NULL);
}

Test(auth, wrong_secret_is_refused)
{
	char t[1024];

	hs256(HDR, CLAIMS(""), SECRET "x", t);
	expect(t, "signature does not verify");
}

Test(auth, tampered_payload_is_refused)
{
	char t[1024], u[1024], *d1, *d2;

	hs256(HDR, CLAIMS(""), SECRET, t);
	/* Another subject's payload under the first signature. */
	hs256(HDR, "{\"sub\":\"00000000-0000-4000-8000-000000000000\","
	    "\"iss\":\"https://idp.test\",\"aud\":\"concert\","
	    "\"exp\":2000000100}", NULL, u);
	d1 = strrchr(u, '.');
	d2 = strrchr(t, '.');
	strcpy(d1, d2);
	expect(u, "signature does not verify");
}

Test(auth, alg_none_is_refused)
{
	char t[1024];

	hs256("{\"alg\":\"none\"}", CLAIMS(""), NULL, t);
	expect(t, "alg none is not accepted");
}

Test(auth, other_alg_is_refused)
{
	char t[1024];

	hs256("{\"alg\":\"HS384\"}", CLAIMS(""), SECRET, t);
	expect(t, "is not accepted (only HS256)");
}

Test(auth, crit_header_is_refused)
{
	char t[1024];

	hs256("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", CLAIMS(""), SECRET, t);
	expect(t, "crit");
}

Test(auth, expired_is_refused_beyond_leeway)
{
	char t[1024];

	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\","
	    "\"aud\":\"concert\",\"exp\":1999999969}", SECRET, t);
	expect(t, "expired");
	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\","
	    "\"aud\":\"concert\",\"exp\":1999999970}", SECRET, t);
	expect(t, NULL);
}

/* Found by fuzz_jwt: exp + leeway overflowed. */
Test(auth, huge_exp_does_not_overflow)
{
	char t[1024];

	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\","
	    "\"aud\":\"concert\",\"exp\":9223372036854775807}", SECRET, t);
	expect(t, NULL);
	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\","
	    "\"aud\":\"concert\",\"exp\":-9223372036854775807}", SECRET, t);
	expect(t, "expired");
}

Test(auth, missing_exp_is_refused)
{
	char t[1024];

	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\","
	    "\"aud\":\"concert\"}", SECRET, t);
	expect(t, "no exp");
}

Test(auth, nbf_in_the_future_is_refused)
{
	char t[1024];

	hs256(HDR, CLAIMS(",\"nbf\":2000000031"), SECRET, t);
	expect(t, "not valid yet");
	hs256(HDR, CLAIMS(",\"nbf\":2000000030"), SECRET, t);
	expect(t, NULL);
}

Test(auth, wrong_issuer_is_refused)
{
	char t[1024];

	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://evil.test\","
	    "\"aud\":\"concert\",\"exp\":2000000100}", SECRET, t);
	expect(t, "issuer");
}

Test(auth, audience_string_or_array)
{
	char t[1024];

	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\","
	    "\"aud\":[\"other\",\"concert\"],\"exp\":2000000100}", SECRET, t);
	expect(t, NULL);
	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\","
	    "\"aud\":[\"other\"],\"exp\":2000000100}", SECRET, t);
	expect(t, "audience");
	hs256(HDR, "{\"sub\":\"" SUB "\",\"iss\":\"https://idp.test\","
	    "\"exp\":2000000100}", SECRET, t);
	expect(t, "audience");
}

Test(auth, sub_must_be_a_uuid)
{
	char t[1024];

	hs256(HDR, "{\"sub\":\"alice\",\"iss\":\"https://idp.test\","
	    "\"aud\":\"concert\",\"exp\":2000000100}", SECRET, t);
	expect(t, "sub");
}

Test(auth, malformed_compact_forms_are_refused)
{
	char t[1024];

	expect("", "three dot-separated");
	expect("a.b", "three dot-separated");
	expect("a.b.c.d", "three dot-separated");
	expect("!!!.e30.c2ln", "header is not base64url JSON");
	hs256(HDR, CLAIMS(""), SECRET, t);
	strcat(t, "=");
	expect(t, "signature is not base64url");
}

Test(auth, oversized_is_refused_before_parsing)
{
	static char t[AUTH_JWT_MAXLEN + 2];

	memset(t, 'A', sizeof(t) - 1);
	t[sizeof(t) - 1] = '\0';
	expect(t, "longer than");
}

/* RS256 with a generated key; HS256 signed with the PEM text as its
 * secret (alg confusion) is refused. */
Test(auth, rs256_valid_and_alg_confusion_refused)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	char path[] = "/tmp/test_auth_XXXXXX", pem[4096], t[4096], err[256];
	unsigned char sig[512];
	size_t siglen = sizeof(sig), n;
	struct auth_verifier rv;
	EVP_MD_CTX *ctx;
	unsigned char sub[16];
	char why[128];
	FILE *fp;
	int fd;

	cr_assert_not_null(pk);
	cr_assert((fd = mkstemp(path)) != -1);
	fp = fdopen(fd, "w+");
	cr_assert_eq(PEM_write_PUBKEY(fp, pk), 1);
	fflush(fp);
	rewind(fp);
	n = fread(pem, 1, sizeof(pem) - 1, fp);
	pem[n] = '\0';
	fclose(fp);

	config_defaults(&cfg);
	cfg.auth = CONFIG_AUTH_JWT;
	snprintf(cfg.jwt_public_key_file, sizeof(cfg.jwt_public_key_file),
	    "%s", path);
	cr_assert_eq(auth_verifier_init(&rv, &cfg, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(rv.alg, AUTH_ALG_RS256);

	hs256("{\"alg\":\"RS256\"}", CLAIMS(""), NULL, t);
	t[strlen(t) - 1] = '\0';         /* drop the '.' */
	ctx = EVP_MD_CTX_new();
	cr_assert_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
	cr_assert_eq(EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)t,
	    strlen(t)), 1);
	EVP_MD_CTX_free(ctx);
	strcat(t, ".");
	jwt_b64url(sig, siglen, t + strlen(t));
	cr_assert_eq(auth_jwt_verify(&rv, t, NOW, sub, why, sizeof(why)), 0,
	    "%s", why);

	hs256(HDR, CLAIMS(""), pem, t);
	cr_assert_eq(auth_jwt_verify(&rv, t, NOW, sub, why, sizeof(why)), -1);
	cr_assert(strstr(why, "only RS256") != NULL, "%s", why);

	auth_verifier_free(&rv);
	EVP_PKEY_free(pk);
	unlink(path);
}

/* --- the hook, without a database (no queue token in these) --- */

static struct http_req r;
static struct http_resp w;

static void
req(const char *authorization, const char *query)
{
	memset(&r, 0, sizeof(r));
	http_resp_clear(&w);
	memset(&w, 0, sizeof(w));
	r.query = query;
	r.content_type = "application/json";
	r.authorization = authorization;
	r.method = HTTP_GET;
	r.method_name = "GET";
}

static const char *
code_of(void)
{
	json_object *e, *c;

	if (w.body == NULL || !json_object_object_get_ex(w.body, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &c))
		return "";
	return json_object_get_string(c);
}

Test(auth, hook_open_mode_is_validation_alone)
{
	struct params p;
	struct config open;

	config_defaults(&open);
	req("", "userId=" SUB);
	cr_assert_eq(auth_params(&open, 1, &r, PBIT(P_USER_ID),
	    PBIT(P_USER_ID), 0, &p, &w), AUTH_PASS);
	cr_assert_str_eq(p.v[P_USER_ID].s, SUB);
}

Test(auth, hook_jwt_needs_a_bearer)
{
	struct params p;
	char err[256];

	cr_assert_eq(auth_init(&cfg, err, sizeof(err)), 0, "%s", err);
	req("", "userId=" SUB);
	cr_assert_eq(auth_params(&cfg, 1, &r, PBIT(P_USER_ID),
	    PBIT(P_USER_ID), 0, &p, &w), AUTH_REFUSED);
	cr_assert_eq(w.status, 401);
	cr_assert_str_eq(code_of(), "AUTH_REQUIRED");
	auth_fini();
}

Test(auth, hook_jwt_fills_and_compares_user)
{
	struct params p;
	char err[256], t[1024], a[1100];

	cr_assert_eq(auth_init(&cfg, err, sizeof(err)), 0, "%s", err);
	/* A real token now (auth_params reads the clock). */
	snprintf(err, sizeof(err), "{\"sub\":\"" SUB "\",\"iss\":"
	    "\"https://idp.test\",\"aud\":\"concert\",\"exp\":%lld}",
	    (long long)time(NULL) + 300);
	hs256(HDR, err, SECRET, t);
	snprintf(a, sizeof(a), "Bearer %s", t);

	req(a, "");
	cr_assert_eq(auth_params(&cfg, 1, &r, PBIT(P_USER_ID),
	    PBIT(P_USER_ID), 0, &p, &w), AUTH_PASS);
	cr_assert(p.v[P_USER_ID].present);
	cr_assert_str_eq(p.v[P_USER_ID].s, SUB);

	req(a, "userId=00000000-0000-4000-8000-000000000000");
	cr_assert_eq(auth_params(&cfg, 1, &r, PBIT(P_USER_ID),
	    PBIT(P_USER_ID), 0, &p, &w), AUTH_REFUSED);
	cr_assert_eq(w.status, 403);
	cr_assert_str_eq(code_of(), "USER_MISMATCH");

	/* A route that takes no user is not touched. */
	req("", "");
	cr_assert_eq(auth_params(&cfg, 0, &r, 0, 0, 0, &p, &w), AUTH_PASS);
	auth_fini();
}

Test(auth, hook_jwt_bearer_is_never_a_queue_token)
{
	struct params p;

	req("Bearer 00112233445566778899aabbccddeeff", "");
	r.queue_token = NULL;
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0,
	    &cfg, &p, &w), -1);
	cr_assert_str_eq(code_of(), "TOKEN_REQUIRED");
	req("", "");
	r.queue_token = "00112233445566778899aabbccddeeff";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0,
	    &cfg, &p, &w), 0);
	cr_assert(p.v[P_TOKEN].present);
	/* Present but empty is malformed, not absent (never ignored). */
	req("", "");
	r.queue_token = "";
	cr_assert_eq(validate_params(&r, PBIT(P_TOKEN), PBIT(P_TOKEN), 0,
	    &cfg, &p, &w), -1);
	cr_assert_str_eq(code_of(), "TOKEN_INVALID");
}

Test(auth, config_needs_exactly_one_key)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	cr_assert_eq(config_check(&c, err, sizeof(err)), 0);
	c.auth = CONFIG_AUTH_JWT;
	cr_assert_eq(config_check(&c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "exactly one") != NULL, "%s", err);
	snprintf(c.jwt_secret, sizeof(c.jwt_secret), "short");
	cr_assert_eq(config_check(&c, err, sizeof(err)), -1);
	cr_assert(strstr(err, "shorter") != NULL, "%s", err);
	snprintf(c.jwt_secret, sizeof(c.jwt_secret), "%s", SECRET);
	cr_assert_eq(config_check(&c, err, sizeof(err)), 0, "%s", err);
	snprintf(c.jwt_public_key_file, sizeof(c.jwt_public_key_file), "/k");
	cr_assert_eq(config_check(&c, err, sizeof(err)), -1);
}

Test(auth, dump_masks_jwt_secret)
{
	struct config c;
	char buf[16384];
	FILE *fp = fmemopen(buf, sizeof(buf), "w");

	config_defaults(&c);
	snprintf(c.jwt_secret, sizeof(c.jwt_secret), "%s", SECRET);
	config_dump(&c, fp);
	fclose(fp);
	cr_assert(strstr(buf, SECRET) == NULL);
	cr_assert(strstr(buf, "jwt_secret = ********") != NULL);
	cr_assert(strstr(buf, "auth = open") != NULL);
}
