/*
 * fuzz_catalog: the catalogue parsers of concertctl import (src/ctl/):
 * the RFC 4180 reader and both loaders, with properties:
 *   - csv: every record read, written back with every field quoted and
 *     read again, gives the same fields (the reader and RFC 4180 agree);
 *   - a loader returns 0 exactly when it recorded no error;
 *   - a catalogue without errors holds only what the rules allow: seat
 *     numbers in range, strictly increasing per date (no seat twice),
 *     prices in range, section and grade names of the allowed characters,
 *     a graded seat at its grade's price, at most CAT_SEATS_TOTAL_MAX seats.
 * Input: byte 0 even: the rest is JSON, odd: CSV (both also go through the
 * CSV reader round trip).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ctl/catalog.h"
#include "ctl/csv.h"

static void
csv_round_trip(const char *in, size_t len)
{
	struct csv a, b;
	struct csv_record ra, rb;
	char err[256];
	char *out;
	size_t cap, n, i;
	int f, rc;

	csv_init(&a, in, len);
	while ((rc = csv_next(&a, &ra, err, sizeof(err))) == 1) {
		/* each field at worst doubled, its quotes and a comma */
		for (cap = 2, f = 0; f < ra.nfields; f++)
			cap += ra.len[f] * 2 + 3;
		out = malloc(cap);
		FUZZ_ASSERT(out != NULL);
		n = 0;
		for (f = 0; f < ra.nfields; f++) {
			if (f > 0)
				out[n++] = ',';
			out[n++] = '"';
			for (i = 0; i < ra.len[f]; i++) {
				if (ra.field[f][i] == '"')
					out[n++] = '"';
				out[n++] = ra.field[f][i];
			}
			out[n++] = '"';
		}
		out[n++] = '\n';
		csv_init(&b, out, n);
		FUZZ_ASSERT(csv_next(&b, &rb, err, sizeof(err)) == 1);
		FUZZ_ASSERT(rb.nfields == ra.nfields);
		for (f = 0; f < ra.nfields; f++) {
			FUZZ_ASSERT(rb.len[f] == ra.len[f]);
			FUZZ_ASSERT(memcmp(rb.field[f], ra.field[f], ra.len[f]) == 0);
		}
		csv_free(&b);
		free(out);
	}
	FUZZ_ASSERT(rc == 0 || rc == -1);
	csv_free(&a);
}

static void
check_valid(const struct catalog *cat)
{
	char why[128];
	size_t i, j, k, total = 0;

	for (i = 0; i < cat->nconcerts; i++) {
		const struct cat_concert *c = &cat->concerts[i];

		FUZZ_ASSERT(c->id >= 1 && c->id <= CAT_CONCERT_ID_MAX);
		FUZZ_ASSERT(c->title[0] != '\0');
		FUZZ_ASSERT(cat_check_text(c->title, strlen(c->title), CAT_TEXT_MAX,
		    why, sizeof(why)) == 0);
		for (j = 0; j < c->ndates; j++) {
			const struct cat_date *d = &c->dates[j];

			for (k = 0; k < d->nseats; k++) {
				const struct cat_seat *s = &d->seats[k];
				const struct cat_block *b = &d->blocks[s->block];

				FUZZ_ASSERT(s->number >= 1 && s->number <= CAT_SEAT_MAX);
				FUZZ_ASSERT(k == 0 || d->seats[k - 1].number < s->number);
				FUZZ_ASSERT(s->block >= 0 && (size_t)s->block < d->nblocks);
				FUZZ_ASSERT(b->price >= 1 && b->price <= CAT_PRICE_MAX);
				FUZZ_ASSERT(cat_check_name(b->section, CAT_SECTION_MAX,
				    why, sizeof(why)) == 0);
				FUZZ_ASSERT(cat_check_name(b->grade, CAT_GRADE_MAX, why,
				    sizeof(why)) == 0);
				if (b->grade[0] != '\0') {
					int g, found = 0;

					for (g = 0; g < c->ngrades; g++)
						if (strcmp(c->grades[g].grade, b->grade) == 0)
							found = c->grades[g].price == b->price;
					FUZZ_ASSERT(found);
				}
			}
			total += d->nseats;
		}
	}
	FUZZ_ASSERT(total == cat->nseats && total <= CAT_SEATS_TOTAL_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalog cat;
	char *s;
	int rc;

	if (size < 1 || size > 1 << 16)
		return 0;
	s = fuzz_strndup(data + 1, size - 1);
	csv_round_trip(s, size - 1);
	cat_init(&cat, "fuzz");
	if (data[0] % 2 == 0)
		rc = cat_load_json(&cat, s, size - 1);
	else
		rc = cat_load_csv(&cat, s, size - 1);
	FUZZ_ASSERT((rc == 0) == (cat.nerrors == 0));
	FUZZ_ASSERT(rc == 0 || cat.errors[0] != NULL);
	if (rc == 0)
		check_valid(&cat);
	cat_free(&cat);
	free(s);
	return 0;
}
