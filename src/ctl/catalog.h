/*
 * catalog: an operator's catalogue file (concerts, their grades, dates
 * and seats) read into memory and validated, before anything touches the
 * database (concertctl import, README "Importing a catalogue").
 *
 * Two formats describe the same thing:
 *   JSON  {"concerts": [{"id", "title", "venue", "onSaleAt", "grades":
 *         [{"grade", "price"}], "dates": [{"date", "title", "seats":
 *         [{"section", "grade" | "price", "from", "to" | "numbers"}]}]}]}
 *   CSV   RFC 4180 with a header row naming the columns (any order):
 *         concert_id, date, seat, price (required), title, venue,
 *         on_sale_at, date_title, section, grade; one row per seat or
 *         range of seats ("17" or "1-500").
 * A graded seat costs its grade's price; a seat without a grade names its
 * own.  Every error is recorded (up to CAT_ERRORS_MAX kept, all counted)
 * as "FILE:LINE: what" (CSV), "FILE:LINE:COL: what" (JSON syntax) or
 * "FILE:LINE: PATH: what" (a JSON value, named by its path, e.g.
 * concerts[0].dates[1].date, on the line where that value starts -- or,
 * for a missing key, where its object does).
 */
#ifndef CONCERT_CATALOG_H
#define CONCERT_CATALOG_H

#include <stddef.h>

/* Bounds: the schema's columns and the API's parameters. */
#define CAT_CONCERT_ID_MAX 65535          /* concerts.id, concertId */
#define CAT_SEAT_MAX       1000000        /* seatNumber */
#define CAT_PRICE_MAX      1000000000000LL /* the default max_balance */
#define CAT_TEXT_MAX       200            /* characters: VARCHAR(200) */
#define CAT_TEXT_BYTES     (CAT_TEXT_MAX * 4 + 1)
#define CAT_SECTION_MAX    16             /* seats.section, the API's section */
#define CAT_GRADE_MAX      8              /* concert_grades.grade */
#define CAT_GRADES_MAX     32             /* grades of one concert */
#define CAT_DATES_MAX      1000           /* dates of one concert */
#define CAT_CONCERTS_MAX   1000           /* concerts of one file */
#define CAT_SEATS_TOTAL_MAX 2000000       /* seats of one file */
#define CAT_ERRORS_MAX     100            /* messages kept */
#define CAT_FILE_MAX       (256L << 20)   /* bytes of one file */
#define CAT_PATH_LEN       96             /* a JSON path in a message */

enum cat_format { CAT_FORMAT_AUTO = 0, CAT_FORMAT_JSON, CAT_FORMAT_CSV };

/* Seats described together: one JSON seats[] entry or one CSV row. */
struct cat_block {
	char section[CAT_SECTION_MAX + 1];  /* "" none */
	char grade[CAT_GRADE_MAX + 1];      /* "" none */
	long long price;
	int line;                           /* CSV line; 0 for JSON */
	char path[CAT_PATH_LEN];            /* JSON path; "" for CSV */
};

struct cat_seat {
	int number;
	int block;                          /* index into the date's blocks */
};

struct cat_date {
	char date[11];                      /* YYYY-MM-DD */
	char title[CAT_TEXT_BYTES];
	struct cat_block *blocks;
	size_t nblocks, blockcap;
	struct cat_seat *seats;             /* sorted by number (cat_finish) */
	size_t nseats, seatcap;
	int line;
};

struct cat_grade {
	char grade[CAT_GRADE_MAX + 1];
	long long price;
	int line;
};

struct cat_concert {
	long long id;
	char title[CAT_TEXT_BYTES];
	char venue[CAT_TEXT_BYTES];
	char on_sale_at[24];                /* MySQL DATETIME(3) text; "" none */
	struct cat_grade grades[CAT_GRADES_MAX];
	int ngrades;
	struct cat_date *dates;
	size_t ndates, datecap;
	int line;
};

struct catalog {
	char name[256];                     /* the file, as messages name it */
	struct cat_concert *concerts;
	size_t nconcerts, concertcap;
	size_t nseats;                      /* all dates' seats */
	int nerrors;                        /* all errors found */
	char *errors[CAT_ERRORS_MAX];       /* the first ones */
	/* While a JSON file's values are checked: its text, where an error
	 * naming a path finds the line of that value. */
	const char *jbuf;
	size_t jlen;
};

/* An empty catalogue whose messages name the file `name`. */
void cat_init(struct catalog *cat, const char *name);
void cat_free(struct catalog *cat);

/*
 * Parse buf[0..len) as JSON or CSV into cat and validate it (cat_finish
 * included).  0 when the file is valid, -1 when cat->nerrors > 0.
 */
int cat_load_json(struct catalog *cat, const char *buf, size_t len);
int cat_load_csv(struct catalog *cat, const char *buf, size_t len);

/* Read the file at path (format AUTO: by its name's end, .json or .csv,
 * else by its first byte: '{' is JSON) and load it as above. */
int cat_load_file(struct catalog *cat, const char *path, enum cat_format fmt);

/* The checks across entries (one seat twice on a date), and the seats
 * sorted by number.  Called by the loaders. */
void cat_finish(struct catalog *cat);

/* Record an error: "NAME:LINE: msg" when line > 0, else "NAME:LINE: PATH:
 * msg" (the line of the path's value in cat->jbuf, when set and found),
 * "NAME: PATH: msg", or "NAME: msg" without a path. */
void cat_error(struct catalog *cat, int line, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A block's place for a message: "line N" or its JSON path. */
void cat_block_where(const struct cat_block *b, char *out, size_t outlen);

/*
 * Text rules shared by both formats.  cat_check_text: valid UTF-8, no
 * control characters, at most maxchars characters; cat_check_name: 0 to
 * maxlen of [A-Za-z0-9_-] (a section or a grade); cat_parse_time: ISO-8601
 * UTC "YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z" into MySQL "YYYY-MM-DD
 * HH:MM:SS.fff" (out: 24 bytes).  Each returns 0, or -1 with a reason in
 * why.
 */
int cat_check_text(const char *s, size_t len, int maxchars, char *why,
    size_t whylen);
int cat_check_name(const char *s, size_t maxlen, char *why, size_t whylen);
int cat_parse_time(const char *s, char out[24], char *why, size_t whylen);

#endif
