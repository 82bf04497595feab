/*
 * shuffle: see shuffle.h.
 */
#include "shuffle.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const char shuffle_tag[] = "concert-draw-v1";
#define SHUFFLE_TAG_LEN (sizeof(shuffle_tag) - 1)

struct shuffle_key {
	unsigned char mac[32];
	long long j;
};

int
shuffle_seed(unsigned char seed[SHUFFLE_SEED_LEN])
{
	return RAND_bytes(seed, SHUFFLE_SEED_LEN) == 1 ? 0 : -1;
}

static void
put_be(unsigned char *p, unsigned long long v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

static int
key_cmp(const void *a, const void *b)
{
	const struct shuffle_key *x = a, *y = b;
	int c = memcmp(x->mac, y->mac, sizeof(x->mac));

	if (c != 0)
		return c;
	return x->j < y->j ? -1 : x->j > y->j;
}

int
shuffle_order(const unsigned char seed[SHUFFLE_SEED_LEN], int concert,
    long long *j, size_t n)
{
	unsigned char msg[SHUFFLE_TAG_LEN + 4 + 8];
	struct shuffle_key *k;
	unsigned int len;
	size_t i;
	int rc = -1;

	if (n == 0)
		return 0;
	if ((k = calloc(n, sizeof(*k))) == NULL)
		return -1;
	memcpy(msg, shuffle_tag, SHUFFLE_TAG_LEN);
	put_be(msg + SHUFFLE_TAG_LEN, (unsigned long long)(unsigned)concert, 4);
	for (i = 0; i < n; i++) {
		put_be(msg + SHUFFLE_TAG_LEN + 4, (unsigned long long)j[i], 8);
		len = 0;
		if (HMAC(EVP_sha256(), seed, SHUFFLE_SEED_LEN, msg, sizeof(msg),
		    k[i].mac, &len) == NULL || len != sizeof(k[i].mac))
			goto out;
		k[i].j = j[i];
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (i = 0; i < n; i++)
		j[i] = k[i].j;
	rc = 0;
out:
	free(k);
	return rc;
}

static int
ll_cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int
shuffle_digest(const long long *j, size_t n, unsigned char out[32])
{
	long long *s = NULL;
	unsigned char b[8];
	unsigned int len = 0;
	EVP_MD_CTX *md;
	size_t i;
	int rc = -1;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (n > 0 && (s = malloc(n * sizeof(*s))) == NULL)
		goto out;
	if (n > 0)
		memcpy(s, j, n * sizeof(*s));
	if (n > 1)
		qsort(s, n, sizeof(*s), ll_cmp);
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < n; i++) {
		put_be(b, (unsigned long long)s[i], 8);
		if (EVP_DigestUpdate(md, b, sizeof(b)) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, out, &len) != 1 || len != 32)
		goto out;
	rc = 0;
out:
	free(s);
	EVP_MD_CTX_free(md);
	return rc;
}
