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

/* The MAC of the 6 concert and seq bytes into mac[QTOKEN_MAC_BYTES].  0 / -1. */
static int
qtoken_mac(const unsigned char seqb[QTOKEN_SEQ_BYTES],
    unsigned char mac[QTOKEN_MAC_BYTES])
{
	unsigned char msg[QTOKEN_TAG_LEN + QTOKEN_SEQ_BYTES];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int v1 = seqb[0] == 0 && seqb[1] == 0;

	if (qt_key_len == 0)
		return -1;
	memcpy(msg, v1 ? qtoken_tag_v1 : qtoken_tag_v2, QTOKEN_TAG_LEN);
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
	int i, c = concert == 1 ? 0 : concert;

	if (seq < 1 || seq > QTOKEN_SEQ_MAX || concert < 1 ||
	    concert > QTOKEN_CONCERT_MAX)
		return -1;
	tok[0] = (unsigned char)(c >> 8);
	tok[1] = (unsigned char)(c & 0xff);
	for (i = QTOKEN_SEQ_BYTES - 1; i >= 2; i--, seq >>= 8)
		tok[i] = (unsigned char)(seq & 0xff);
	return qtoken_mac(tok, tok + QTOKEN_SEQ_BYTES);
}

int
qtoken_verify(const unsigned char tok[QTOKEN_LEN], int *concert,
    long long *seq)
{
	unsigned char mac[QTOKEN_MAC_BYTES];
	long long s = 0;
	int i, c;

	if (qtoken_mac(tok, mac) == -1)
		return -1;
	if (CRYPTO_memcmp(mac, tok + QTOKEN_SEQ_BYTES, QTOKEN_MAC_BYTES) != 0)
		return -1;
	c = (tok[0] << 8) | tok[1];
	for (i = 2; i < QTOKEN_SEQ_BYTES; i++)
		s = (s << 8) | tok[i];
	/* c = 1 is never minted (the default concert is c = 0, v1). */
	if (s < 1 || c == 1)
		return -1;
	*concert = c == 0 ? 1 : c;
	*seq = s;
	return 0;
}
