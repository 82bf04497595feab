/*
 * fuzz_config: the configuration file parser (config_load -> load_file ->
 * trim -> config_set) and config_dump, on arbitrary file contents.
 * The input is written to a private temp file that config_load reads, as
 * concertd -c does.  Properties: a successful load leaves every string NUL-
 * terminated inside its field, and config_dump's output loads back to the
 * same configuration (dump -> load -> dump is a fixed point).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

extern char **environ;

static char path[64], path2[64];
static int fd = -1, fd2 = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char **e;

	/* CONCERT_<KEY> would override the file: keep the input the only
	 * source (copy names first: unsetenv edits environ). */
	for (;;) {
		for (e = environ; *e != NULL; e++)
			if (strncmp(*e, "CONCERT_", 8) == 0)
				break;
		if (*e == NULL)
			break;
		{
			char name[256];
			size_t n = strcspn(*e, "=");

			snprintf(name, sizeof(name), "%.*s", (int)n, *e);
			unsetenv(name);
		}
	}
	snprintf(path, sizeof(path), "/tmp/fuzz_config.XXXXXX");
	snprintf(path2, sizeof(path2), "/tmp/fuzz_config2.XXXXXX");
	if ((fd = mkstemp(path)) == -1 || (fd2 = mkstemp(path2)) == -1)
		abort();
	/* Nothing left behind, even when a crash ends the run: unlink now and
	 * let config_load open the files again through /proc/self/fd. */
	unlink(path);
	unlink(path2);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	snprintf(path2, sizeof(path2), "/proc/self/fd/%d", fd2);
	return 0;
}

static void
put(int f, const void *p, size_t n)
{
	if (ftruncate(f, 0) == -1 || pwrite(f, p, n, 0) != (ssize_t)n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg, cfg2;
	char err[CONFIG_ERR_LEN], *dump = NULL, *dump2 = NULL;
	size_t dlen = 0, dlen2 = 0;
	FILE *m;
	int rc;

	put(fd, data, size);
	memset(err, 0, sizeof(err));
	rc = config_load(&cfg, path, err, sizeof(err));
	if (rc == -1) {
		FUZZ_ASSERT(err[0] != '\0');
		FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	FUZZ_ASSERT(rc == 0);
	FUZZ_ASSERT(memchr(cfg.listen, '\0', sizeof(cfg.listen)) != NULL);
	FUZZ_ASSERT(memchr(cfg.db_password, '\0', sizeof(cfg.db_password)) != NULL);
	FUZZ_ASSERT(cfg.workers >= 1 && cfg.workers <= 1024);

	/* Dump and reload: the round trip must succeed and dump the same
	 * text (compare dumps, not the structs: bytes after a string's NUL
	 * keep whatever a longer earlier value of a repeated key left). */
	if ((m = open_memstream(&dump, &dlen)) == NULL)
		abort();
	config_dump(&cfg, m);
	fclose(m);
	put(fd2, dump, dlen);
	rc = config_load(&cfg2, path2, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "reload failed: %s\n--- dump ---\n%s", err, dump);
	FUZZ_ASSERT(rc == 0);
	if ((m = open_memstream(&dump2, &dlen2)) == NULL)
		abort();
	config_dump(&cfg2, m);
	fclose(m);
	if (strcmp(dump, dump2) != 0)
		fprintf(stderr, "--- dump ---\n%s--- reloaded ---\n%s", dump, dump2);
	FUZZ_ASSERT(strcmp(dump, dump2) == 0);
	free(dump2);
	free(dump);
	return 0;
}
