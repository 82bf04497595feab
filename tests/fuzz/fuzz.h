/* fuzz.h: helpers shared by the libFuzzer harnesses in tests/fuzz. */
#ifndef CONCERT_FUZZ_H
#define CONCERT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property violation is a crash: libFuzzer saves the reproducer. */
#define FUZZ_ASSERT(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: property failed: %s\n", \
		    __FILE__, __LINE__, #c); \
		abort(); \
	} \
} while (0)

/* Copy n bytes into a new exactly-sized NUL-terminated heap string. */
static inline char *
fuzz_strndup(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Replace a heap string by an exactly-sized copy (frees the old one). */
static inline char *
fuzz_shrink(char *s)
{
	char *t = fuzz_strndup(s, strlen(s));

	free(s);
	return t;
}

#endif
