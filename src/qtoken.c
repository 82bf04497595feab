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
 * a later format from accepting these tokens by accident. */
static const char qtoken_tag[] = "concert-qtoken-v1";

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

/* The MAC of the 6 seq bytes into mac[QTOKEN_MAC_BYTES].  0 / -1. */
static int
qtoken_mac(const unsigned char seqb[QTOKEN_SEQ_BYTES],
    unsigned char mac[QTOKEN_MAC_BYTES])
{
	unsigned char msg[sizeof(qtoken_tag) - 1 + QTOKEN_SEQ_BYTES];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (qt_key_len == 0)
		return -1;
	memcpy(msg, qtoken_tag, sizeof(qtoken_tag) - 1);
	memcpy(msg + sizeof(qtoken_tag) - 1, seqb, QTOKEN_SEQ_BYTES);
	if (HMAC(EVP_sha256(), qt_key, (int)qt_key_len, msg, sizeof(msg), md,
	    &mdlen) == NULL || mdlen < QTOKEN_MAC_BYTES)
		return -1;
	memcpy(mac, md, QTOKEN_MAC_BYTES);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

int
qtoken_mint(long long seq, unsigned char tok[QTOKEN_LEN])
{
	int i;

	if (seq < 1 || seq > QTOKEN_SEQ_MAX)
		return -1;
	for (i = QTOKEN_SEQ_BYTES - 1; i >= 0; i--, seq >>= 8)
		tok[i] = (unsigned char)(seq & 0xff);
	return qtoken_mac(tok, tok + QTOKEN_SEQ_BYTES);
}

int
qtoken_verify(const unsigned char tok[QTOKEN_LEN], long long *seq)
{
	unsigned char mac[QTOKEN_MAC_BYTES];
	long long s = 0;
	int i;

	if (qtoken_mac(tok, mac) == -1)
		return -1;
	if (CRYPTO_memcmp(mac, tok + QTOKEN_SEQ_BYTES, QTOKEN_MAC_BYTES) != 0)
		return -1;
	for (i = 0; i < QTOKEN_SEQ_BYTES; i++)
		s = (s << 8) | tok[i];
	if (s < 1)
		return -1;
	*seq = s;
	return 0;
}
