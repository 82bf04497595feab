/*
 * qtoken: see qtoken.h.
 */
#include "qtoken.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define QTOKEN_SEQ_BYTES 6
#define QTOKEN_MAC_BYTES (QTOKEN_LEN - QTOKEN_SEQ_BYTES)

/* Domain separation: the key signs nothing else, but a version tag keeps
 * one format from accepting the other's tokens by accident.  v1: the
 * default concert (c = 0 on the wire); v2: any other concert.  Both tags
 * have the same length. */
static const char qtoken_tag_v1[] = "concert-qtoken-v1";
static const char qtoken_tag_v2[] = "concert-qtoken-v2";
static const char qtoken_tag_p1[] = "concert-qtoken-p1";
#define QTOKEN_TAG_LEN (sizeof(qtoken_tag_v1) - 1)

static unsigned char qt_key[QTOKEN_KEY_MAX];
static size_t qt_key_len;

int
qtoken_set_key(const void *key, size_t len)
{
	if (key == NULL || len == 0 || len > QTOKEN_KEY_MAX)
		return -1;
	memcpy(qt_key, key, len);
	qt_key_len = len;
	return 0;
}

int
qtoken_have_key(void)
{
	return qt_key_len > 0;
}

/* Which tag a MAC is made under. */
enum qtoken_kind { QTOKEN_V2 = 0, QTOKEN_V1 = 1, QTOKEN_PRE = 2 };

/* The MAC of the 6 concert and seq bytes into mac[QTOKEN_MAC_BYTES],
 * under tag v1 (the default concert), v2 or p1 (kind).  0 / -1. */
static int
qtoken_mac(const unsigned char seqb[QTOKEN_SEQ_BYTES], int kind,
    unsigned char mac[QTOKEN_MAC_BYTES])
{
	unsigned char msg[QTOKEN_TAG_LEN + QTOKEN_SEQ_BYTES];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (qt_key_len == 0)
		return -1;
	memcpy(msg, kind == QTOKEN_V1 ? qtoken_tag_v1 : kind == QTOKEN_PRE ?
	    qtoken_tag_p1 : qtoken_tag_v2, QTOKEN_TAG_LEN);
	memcpy(msg + QTOKEN_TAG_LEN, seqb, QTOKEN_SEQ_BYTES);
	if (HMAC(EVP_sha256(), qt_key, (int)qt_key_len, msg, sizeof(msg), md,
	    &mdlen) == NULL || mdlen < QTOKEN_MAC_BYTES)
		return -1;
	memcpy(mac, md, QTOKEN_MAC_BYTES);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int
qtoken_mint(int concert, long long seq, unsigned char tok[QTOKEN_LEN])
{
	int i, v1 = concert == 1;

	/* The default concert keeps the 6-byte seq of v1. */
	if (seq < 1 || seq > (v1 ? QTOKEN_SEQ_MAX_V1 : QTOKEN_SEQ_MAX) ||
	    concert < 1 || concert > QTOKEN_CONCERT_MAX)
		return -1;
	for (i = QTOKEN_SEQ_BYTES - 1; i >= (v1 ? 0 : 2); i--, seq >>= 8)
		tok[i] = (unsigned char)(seq & 0xff);
	if (!v1) {
		tok[0] = (unsigned char)(concert >> 8);
		tok[1] = (unsigned char)(concert & 0xff);
	}
	return qtoken_mac(tok, v1 ? QTOKEN_V1 : QTOKEN_V2,
	    tok + QTOKEN_SEQ_BYTES);
}

int
qtoken_mint_pre(int concert, long long j, unsigned char tok[QTOKEN_LEN])
{
	int i;

	if (j < 1 || j > QTOKEN_SEQ_MAX || concert < 1 ||
	    concert > QTOKEN_CONCERT_MAX)
		return -1;
	for (i = QTOKEN_SEQ_BYTES - 1; i >= 2; i--, j >>= 8)
		tok[i] = (unsigned char)(j & 0xff);
	tok[0] = (unsigned char)(concert >> 8);
	tok[1] = (unsigned char)(concert & 0xff);
	return qtoken_mac(tok, QTOKEN_PRE, tok + QTOKEN_SEQ_BYTES);
}

/* Does tok carry the MAC of its 6 bytes under tag kind?  1 / 0, -1. */
static int
qtoken_check(const unsigned char tok[QTOKEN_LEN], int kind)
{
	unsigned char mac[QTOKEN_MAC_BYTES];

	if (qtoken_mac(tok, kind, mac) == -1)
		return -1;
	return CRYPTO_memcmp(mac, tok + QTOKEN_SEQ_BYTES, QTOKEN_MAC_BYTES) == 0;
}

/* The 4-byte number of a v2 or pre token. */
static long long
qtoken_low4(const unsigned char tok[QTOKEN_LEN])
{
	long long s = 0;
	int i;

	for (i = 2; i < QTOKEN_SEQ_BYTES; i++)
		s = (s << 8) | tok[i];
	return s;
}

int
qtoken_verify_any(const unsigned char tok[QTOKEN_LEN], int *concert,
    long long *seq, int *pre)
{
	int c = (tok[0] << 8) | tok[1];

	*pre = 0;
	if (qtoken_verify(tok, concert, seq) == 0)
		return 0;
	/* Checked after the others: a pre-queue token is the rare one, so
	 * a v1/v2 poll costs one HMAC as before. */
	if (c < 1 || qtoken_check(tok, QTOKEN_PRE) != 1 ||
	    qtoken_low4(tok) < 1)
		return -1;
	*concert = c;
	*seq = qtoken_low4(tok);
	*pre = 1;
	return 0;
}

int
qtoken_verify(const unsigned char tok[QTOKEN_LEN], int *concert,
    long long *seq)
{
	long long s = 0;
	int i, c = (tok[0] << 8) | tok[1], rc;

	/* c >= 2: a v2 token, or a v1 token whose seq needs more than 4
	 * bytes; c = 0: only v1 (no concert 0 is minted). */
	if (c >= 2 && (rc = qtoken_check(tok, QTOKEN_V2)) != 0) {
		if (rc < 0)
			return -1;
		for (i = 2; i < QTOKEN_SEQ_BYTES; i++)
			s = (s << 8) | tok[i];
		if (s < 1)
			return -1;
		*concert = c;
		*seq = s;
		return 0;
	}
	if (qtoken_check(tok, QTOKEN_V1) != 1)
		return -1;
	for (i = 0; i < QTOKEN_SEQ_BYTES; i++)
		s = (s << 8) | tok[i];
	if (s < 1)
		return -1;
	*concert = 1;
	*seq = s;
	return 0;
}
