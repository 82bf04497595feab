/*
 * import: a validated catalogue (catalog.h) written to the database in
 * one transaction (concertctl import).
 *
 * What the file lists is made to be so: its concerts (title, venue,
 * on-sale time), their grades (price), dates (title) and, on each listed
 * date, its seats (section, grade, price) are created or updated; what
 * the file does not list is left alone, except, with prune, the seats of
 * a listed date that the file leaves out, which are deleted.  Nothing is
 * written, and every such seat is named, if the import would change or
 * delete a seat that is sold or held (a hold whose deadline passed is
 * free, as everywhere; a pruned seat must be FREE).  Importing the same
 * file again changes nothing (every row "unchanged").
 *
 * Locks: the concert row first (INSERT ... ON DUPLICATE KEY UPDATE, then
 * FOR UPDATE), so two imports of one concert run one after the other;
 * then, for each date, the seats the import changes or deletes, FOR
 * UPDATE, and their state is checked under that lock -- a hold racing the
 * import either commits first and is seen (refused) or waits for the
 * import.  Holds lock a user row and then a seat, and never a concert
 * row: no lock cycle with them.
 */
#ifndef CONCERT_IMPORT_H
#define CONCERT_IMPORT_H

#include <stdio.h>

#include "catalog.h"

/* Seats per multi-row statement (INSERT ... SELECT FROM JSON_TABLE(?)).
 * Measured on the 2-core dev box, a new 50,000-seat date: 1 per statement
 * 9.7 s, 200 3.8 s, 2000 1.0-2.0 s; 5000 and 10000 are no better beyond
 * the noise (0.7-2.7 s), and a statement stays ~60 KB. */
#define IMPORT_BATCH 2000
/* Refused seats named at most (all are counted). */
#define IMPORT_REFUSED_MAX 100

struct import_counts {
	long created, updated, unchanged, deleted;
};

struct import_result {
	struct import_counts concerts, grades, dates, seats;
	long refused;                    /* seats sold or held in the way */
};

enum import_rc {
	IMPORT_OK = 0,                   /* committed (or dry run: rolled back) */
	IMPORT_REFUSED = 1,              /* sold or held seats: nothing written */
	IMPORT_DB_ERROR = -1,            /* err says what */
};

/* Declare the statements (after db_configure, before db_connect).  0 / -1. */
int import_prepare(void);

/*
 * Import cat (cat->nerrors == 0) in one transaction.  prune: also delete
 * the seats of the file's dates that it leaves out.  dry_run: do it all,
 * checks included, then roll back.  The refused seats are written to
 * errfp, one line each ("FILE: refused: seat ..."), at most
 * IMPORT_REFUSED_MAX.
 */
enum import_rc import_run(const struct catalog *cat, int prune, int dry_run,
    struct import_result *res, FILE *errfp, char *err, size_t errlen);

#endif
