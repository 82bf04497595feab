/*
 * concertctl: the operators' command (man concertctl(8)).
 *
 *   concertctl [-c FILE] import [--dry-run] [--prune] [--format json|csv] CATALOGUE
 *
 * Reads the same configuration as concertd and concert-consumer (FILE,
 * default $CONCERT_CONF; CONCERT_<KEY> overrides) for the database it
 * connects to, with the same connection code (db.c).  The catalogue is
 * validated completely before the database is opened: a file with errors
 * writes nothing.
 *
 * Exit status: 0 imported (or the dry run would), 1 the file has errors,
 * 2 usage or configuration, 3 refused (it would change or delete a sold
 * or held seat; nothing written), 4 database error (nothing written).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "import.h"
#include "log.h"

enum { EXIT_INVALID = 1, EXIT_USAGE = 2, EXIT_REFUSED = 3, EXIT_DB = 4 };

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: concertctl [-c FILE] [-h] COMMAND ...\n"
	    "  -c FILE  configuration file (default: $CONCERT_CONF)\n"
	    "  -h       this help\n"
	    "commands:\n"
	    "  import [--dry-run] [--prune] [--format json|csv] CATALOGUE\n"
	    "           load concerts, grades, dates and seats from a JSON or\n"
	    "           CSV file in one transaction (README: Importing a\n"
	    "           catalogue)\n");
}

static void
print_counts(const char *what, const struct import_counts *k, int deleted)
{
	printf("%s: created=%ld updated=%ld unchanged=%ld", what, k->created,
	    k->updated, k->unchanged);
	if (deleted)
		printf(" deleted=%ld", k->deleted);
	printf("\n");
}

static int
cmd_import(const struct config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "prune", no_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cat_format fmt = CAT_FORMAT_AUTO;
	struct import_result res;
	struct catalog cat;
	enum import_rc irc;
	char err[1024];
	int c, dry_run = 0, prune = 0, rc, i;
	long long t0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+npf:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry_run = 1;
			break;
		case 'p':
			prune = 1;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				fmt = CAT_FORMAT_JSON;
			else if (strcmp(optarg, "csv") == 0)
				fmt = CAT_FORMAT_CSV;
			else {
				fprintf(stderr, "concertctl: --format is json or "
				    "csv, not '%.20s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	t0 = clock_mono_ms();
	cat_init(&cat, argv[optind]);
	if (cat_load_file(&cat, argv[optind], fmt) == -1) {
		for (i = 0; i < cat.nerrors && i < CAT_ERRORS_MAX; i++)
			fprintf(stderr, "%s\n", cat.errors[i]);
		if (cat.nerrors > CAT_ERRORS_MAX)
			fprintf(stderr, "%s: %d more errors\n", cat.name,
			    cat.nerrors - CAT_ERRORS_MAX);
		fprintf(stderr, "concertctl: %s: %d error%s, nothing imported\n",
		    cat.name, cat.nerrors, cat.nerrors == 1 ? "" : "s");
		cat_free(&cat);
		return EXIT_INVALID;
	}
	if (db_library_init() == -1) {
		cat_free(&cat);
		return EXIT_DB;
	}
	db_configure(cfg);
	if (import_prepare() == -1 || db_connect(err, sizeof(err)) == -1) {
		fprintf(stderr, "concertctl: %s\n", err);
		rc = EXIT_DB;
		goto out;
	}
	irc = import_run(&cat, prune, dry_run, &res, stderr, err, sizeof(err));
	if (irc == IMPORT_DB_ERROR) {
		fprintf(stderr, "concertctl: %s: %s, nothing imported\n",
		    cat.name, err);
		rc = EXIT_DB;
		goto out;
	}
	if (irc == IMPORT_REFUSED) {
		fprintf(stderr, "concertctl: %s: %ld sold or held seat%s in the "
		    "way, nothing imported\n", cat.name, res.refused,
		    res.refused == 1 ? "" : "s");
		rc = EXIT_REFUSED;
		goto out;
	}
	print_counts("concerts", &res.concerts, 0);
	print_counts("grades", &res.grades, 0);
	print_counts("dates", &res.dates, 0);
	print_counts("seats", &res.seats, 1);
	printf("%s: %s in %.3f s\n", cat.name, dry_run ?
	    "dry run, rolled back: nothing written" : "imported",
	    (double)(clock_mono_ms() - t0) / 1000.0);
	rc = 0;
out:
	db_close();
	cat_free(&cat);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *conf_path = getenv("CONCERT_CONF");
	struct config cfg;
	char err[1024];
	int c;

	while ((c = getopt(argc, argv, "+c:h")) != -1) {
		switch (c) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (config_load(&cfg, conf_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "concertctl: %s\n", err);
		return EXIT_USAGE;
	}
	/* Messages of db.c (a lost connection, a retried deadlock) go to
	 * stderr with the command's own. */
	if (log_open("", "concertctl") == -1)
		return EXIT_USAGE;
	log_set_level((enum log_level)cfg.log_level);
	if (strcmp(argv[optind], "import") == 0)
		return cmd_import(&cfg, argc - optind, argv + optind);
	fprintf(stderr, "concertctl: unknown command '%.40s'\n", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
