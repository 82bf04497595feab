/*
 * import: see import.h.
 *
 * Per date the seats are compared in memory: the date's rows as they are
 * (one read, in seat order, after the concert row lock) merged with the
 * file's seats (sorted by catalog.c).  A seat is new, unchanged, changed
 * (section, grade or price differ) or, with prune, left out.  Only the
 * changed and the left-out ones can meet a hold or a sale: those are
 * locked (FOR UPDATE) and checked again under the lock.  The writes go in
 * batches of IMPORT_BATCH seats, each one prepared statement whose one
 * parameter is a JSON array of the seats (JSON_TABLE), so a 50,000-seat
 * date is 25 statements, not 50,000.
 */
#include "import.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "log.h"
#include "model.h"

static struct db_stmt *st_concert_upsert, *st_concert_lock, *st_grade_upsert,
    *st_date_upsert, *st_seats_read, *st_seats_lock, *st_seats_write,
    *st_seats_delete;

/* The seat numbers of a batch: JSON [n, ...]. */
#define JSON_NUMBERS "JSON_TABLE(?, '$[*]' COLUMNS (n INT PATH '$')) j"

int
import_prepare(void)
{
	/* Affected rows: 1 inserted, 2 updated, 0 the same already. */
	st_concert_upsert = db_stmt("INSERT INTO concerts (id, title, venue,"
	    " on_sale_at) VALUES (?, ?, ?, NULLIF(?, ''))"
	    " ON DUPLICATE KEY UPDATE title = VALUES(title),"
	    " venue = VALUES(venue), on_sale_at = VALUES(on_sale_at)");
	st_concert_lock = db_stmt("SELECT id FROM concerts WHERE id = ?"
	    " FOR UPDATE");
	st_grade_upsert = db_stmt("INSERT INTO concert_grades (concert_id,"
	    " grade, price) VALUES (?, ?, ?)"
	    " ON DUPLICATE KEY UPDATE price = VALUES(price)");
	st_date_upsert = db_stmt("INSERT INTO concert_dates (concert_id,"
	    " concert_date, title) VALUES (?, ?, ?)"
	    " ON DUPLICATE KEY UPDATE title = VALUES(title)");
	/* in_use: 2 sold, 1 held (deadline not passed), 0 free */
	st_seats_read = db_stmt("SELECT seat_number, section, grade, price,"
	    " CASE WHEN state = " SQL_SEAT_SOLD " THEN 2"
	    "  WHEN state = " SQL_SEAT_HELD " AND hold_expires_at >"
	    "  UTC_TIMESTAMP(3) THEN 1 ELSE 0 END, state"
	    " FROM seats WHERE concert_id = ? AND concert_date = ?"
	    " ORDER BY seat_number");
	/* One primary-key lookup per seat (the seat numbers drive the join),
	 * so the lock is the seat's clustered record, the one a hold locks:
	 * through a secondary index the read would also lock that index's
	 * entry, which the hold's UPDATE must change, and the two would
	 * deadlock instead of one waiting for the other. */
	st_seats_lock = db_stmt("SELECT s.seat_number,"
	    " CASE WHEN s.state = " SQL_SEAT_SOLD " THEN 2"
	    "  WHEN s.state = " SQL_SEAT_HELD " AND s.hold_expires_at >"
	    "  UTC_TIMESTAMP(3) THEN 1 ELSE 0 END, s.state"
	    " FROM " JSON_NUMBERS " STRAIGHT_JOIN seats s FORCE INDEX (PRIMARY)"
	    " ON s.concert_id = ? AND s.concert_date = ? AND s.seat_number = j.n"
	    " FOR UPDATE");
	/* [[n, section, grade, price], ...]; the state and the hold are
	 * never written: a changed seat was checked to be free. */
	st_seats_write = db_stmt("INSERT INTO seats (concert_id, concert_date,"
	    " seat_number, section, grade, price)"
	    " SELECT ?, ?, j.n, j.sec, j.gr, j.p FROM JSON_TABLE(?, '$[*]'"
	    " COLUMNS (n INT PATH '$[0]', sec VARCHAR(16) PATH '$[1]',"
	    "  gr VARCHAR(8) PATH '$[2]', p BIGINT PATH '$[3]')) j"
	    " ON DUPLICATE KEY UPDATE section = VALUES(section),"
	    " grade = VALUES(grade), price = VALUES(price)");
	st_seats_delete = db_stmt("DELETE s FROM " JSON_NUMBERS
	    " STRAIGHT_JOIN seats s FORCE INDEX (PRIMARY)"
	    " ON s.concert_id = ? AND s.concert_date = ? AND s.seat_number = j.n"
	    " WHERE s.state = " SQL_SEAT_FREE);
	return st_concert_upsert && st_concert_lock && st_grade_upsert &&
	    st_date_upsert && st_seats_read && st_seats_lock &&
	    st_seats_write && st_seats_delete ? 0 : -1;
}

/* A seat as the database has it. */
struct dbseat {
	int number;
	char section[CAT_SECTION_MAX + 1];
	char grade[CAT_GRADE_MAX + 1];
	long long price;
	int in_use;                      /* IN_USE_*, -1: IN_USE_EXPIRED */
};

struct run {
	const struct catalog *cat;
	int prune, dry_run;
	struct import_result res;
	char *refusals[IMPORT_REFUSED_MAX];
	char err[512];
	/* per date, reused */
	struct dbseat *db;
	size_t ndb, dbcap;
	int *lock;                       /* seat numbers to lock and check */
	size_t nlock, lockcap;
	int *del;                        /* to delete (prune) */
	size_t ndel, delcap;
	const struct cat_seat **write;   /* new and changed */
	size_t nwrite, writecap;
};

static void
run_reset(struct run *r)
{
	int i;

	memset(&r->res, 0, sizeof(r->res));
	for (i = 0; i < IMPORT_REFUSED_MAX; i++) {
		free(r->refusals[i]);
		r->refusals[i] = NULL;
	}
	r->err[0] = '\0';
}

/* IN_USE_EXPIRED: still HELD on disk, its deadline passed: free to change,
 * not to delete until the consumer has freed it (within a sweep). */
enum { IN_USE_FREE = 0, IN_USE_HELD = 1, IN_USE_SOLD = 2, IN_USE_EXPIRED = 3 };
static const char *const in_use_name[] = {
	[IN_USE_FREE] = "free", [IN_USE_HELD] = "held", [IN_USE_SOLD] = "sold",
	[IN_USE_EXPIRED] = "held (expired, not yet freed by the consumer)",
};

/* what: "deletes it", or what the file changes (change()). */
static void
refuse(struct run *r, const struct cat_concert *c, const struct cat_date *d,
    int seat, int in_use, const char *what)
{
	char msg[400];

	if (r->res.refused++ >= IMPORT_REFUSED_MAX)
		return;
	if (snprintf(msg, sizeof(msg), "%s: refused: seat %d of concert %lld "
	    "on %s is %s (the file %s)", r->cat->name, seat, c->id, d->date,
	    in_use_name[in_use], what) < 0)
		msg[0] = '\0';
	r->refusals[r->res.refused - 1] = strdup(msg);
}

/* "changes its price 90000 -> 99000, grade 'R' -> 'S'" into out. */
static const char *
change(const struct dbseat *ds, const struct cat_block *b, char *out,
    size_t outlen)
{
	size_t n;

	n = (size_t)snprintf(out, outlen, "changes its");
	if (b->price != ds->price && n < outlen)
		n += (size_t)snprintf(out + n, outlen - n, " price %lld -> %lld,",
		    ds->price, b->price);
	if (strcmp(b->grade, ds->grade) != 0 && n < outlen)
		n += (size_t)snprintf(out + n, outlen - n, " grade '%s' -> '%s',",
		    ds->grade, b->grade);
	if (strcmp(b->section, ds->section) != 0 && n < outlen)
		n += (size_t)snprintf(out + n, outlen - n,
		    " section '%s' -> '%s',", ds->section, b->section);
	if (n > 0 && n < outlen && out[n - 1] == ',')
		out[n - 1] = '\0';
	return out;
}

static void
count(struct import_counts *k, long long affected)
{
	if (affected == 1)
		k->created++;
	else if (affected == 0)
		k->unchanged++;
	else
		k->updated++;
}

/* Read the date's seats into r->db (in seat order).  0 / -1. */
static int
read_seats(struct run *r, const struct cat_concert *c,
    const struct cat_date *d)
{
	struct dbseat s;
	long long num, price, in_use, state;
	int rc;

	r->ndb = 0;
	if (db_exec(st_seats_read, "is", (long long)c->id, d->date) < 0)
		return -1;
	while ((rc = db_fetch(st_seats_read, "issiii", &num, s.section,
	    sizeof(s.section), s.grade, sizeof(s.grade), &price, &in_use,
	    &state)) == 1) {
		if (r->ndb == r->dbcap) {
			size_t ncap = r->dbcap ? r->dbcap * 2 : 1024;
			struct dbseat *n = realloc(r->db, ncap * sizeof(*n));

			if (n == NULL) {
				db_done(st_seats_read);
				snprintf(r->err, sizeof(r->err), "out of memory");
				return -1;
			}
			r->db = n;
			r->dbcap = ncap;
		}
		s.number = (int)num;
		s.price = price;
		/* An expired hold still marked HELD is free to change, but a
		 * pruned seat must be FREE itself (the consumer tidies the
		 * expired ones within a sweep). */
		s.in_use = (int)in_use;
		if (s.in_use == 0 && state != MODEL_SEAT_FREE)
			s.in_use = -1;
		r->db[r->ndb++] = s;
	}
	return rc < 0 ? -1 : 0;
}

/* Run st over the seat numbers nums[0..n) in batches: params JSON [n,
 * ...], concert, date.  With a result (the lock), each row's (number,
 * in_use) goes to check().  Returns the summed affected rows, or -1. */
static long long
each_batch(struct run *r, struct db_stmt *st, const struct cat_concert *c,
    const struct cat_date *d, const int *nums, size_t n,
    void (*check)(struct run *, const struct cat_concert *,
    const struct cat_date *, int, int))
{
	long long total = 0, num, in_use, state, a;
	size_t i, j;
	int rc;

	for (i = 0; i < n; i += IMPORT_BATCH) {
		json_object *arr = json_object_new_array();

		for (j = i; j < n && j < i + IMPORT_BATCH; j++)
			json_object_array_add(arr, json_object_new_int(nums[j]));
		a = db_exec(st, "sis",
		    json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN),
		    (long long)c->id, d->date);
		json_object_put(arr);
		if (a < 0)
			return -1;
		total += a;
		if (check == NULL)
			continue;
		while ((rc = db_fetch(st, "iii", &num, &in_use, &state)) == 1)
			check(r, c, d, (int)num, in_use == 0 &&
			    state != MODEL_SEAT_FREE ? -1 : (int)in_use);
		if (rc < 0)
			return -1;
	}
	return total;
}

/* The locked state of a seat to change or delete. */
/* The entry for seat number n in a sorted array, or NULL. */
#define FIND(arr, count, n, out) do { \
	size_t lo_ = 0, hi_ = (count); \
	(out) = NULL; \
	while (lo_ < hi_) { \
		size_t mid_ = (lo_ + hi_) / 2; \
		if ((arr)[mid_].number == (n)) { \
			(out) = &(arr)[mid_]; \
			break; \
		} \
		if ((arr)[mid_].number < (n)) \
			lo_ = mid_ + 1; \
		else \
			hi_ = mid_; \
	} \
} while (0)

/* The locked state of a seat to change or delete. */
static void
check_locked(struct run *r, const struct cat_concert *c,
    const struct cat_date *d, int seat, int in_use)
{
	const struct cat_seat *fs;
	const struct dbseat *ds;
	char what[200];

	/* a seat to delete is in the database only, one to change in both */
	FIND(d->seats, d->nseats, seat, fs);
	FIND(r->db, r->ndb, seat, ds);
	if (fs == NULL) {
		if (in_use != 0)
			refuse(r, c, d, seat, in_use > 0 ? in_use :
			    IN_USE_EXPIRED, "deletes it");
	} else if (in_use > 0)
		refuse(r, c, d, seat, in_use, ds == NULL ? "changes it" :
		    change(ds, &d->blocks[fs->block], what, sizeof(what)));
}

static int
write_seats(struct run *r, const struct cat_concert *c,
    const struct cat_date *d)
{
	size_t i, j;

	for (i = 0; i < r->nwrite; i += IMPORT_BATCH) {
		json_object *arr = json_object_new_array();
		long long a;

		for (j = i; j < r->nwrite && j < i + IMPORT_BATCH; j++) {
			const struct cat_seat *s = r->write[j];
			const struct cat_block *b = &d->blocks[s->block];
			json_object *row = json_object_new_array();

			json_object_array_add(row, json_object_new_int(s->number));
			json_object_array_add(row, json_object_new_string(b->section));
			json_object_array_add(row, json_object_new_string(b->grade));
			json_object_array_add(row, json_object_new_int64(b->price));
			json_object_array_add(arr, row);
		}
		a = db_exec(st_seats_write, "iss", (long long)c->id, d->date,
		    json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
		json_object_put(arr);
		if (a < 0)
			return -1;
	}
	return 0;
}

static int
grow_int(int **p, size_t n, size_t *cap)
{
	size_t ncap;
	int *q;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 1024;
	if ((q = realloc(*p, ncap * sizeof(*q))) == NULL)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

/* One date: compare, lock, check, write.  0 / -1 (a database error). */
static int
import_date(struct run *r, const struct cat_concert *c,
    const struct cat_date *d)
{
	size_t i = 0, k = 0;
	long long a;
	long refused = r->res.refused;

	if (read_seats(r, c, d) == -1)
		return -1;
	r->nlock = r->ndel = r->nwrite = 0;
	/* Both lists in seat order: a merge. */
	while (i < d->nseats || k < r->ndb) {
		const struct cat_seat *fs = i < d->nseats ? &d->seats[i] : NULL;
		const struct dbseat *ds = k < r->ndb ? &r->db[k] : NULL;

		if (fs != NULL && (ds == NULL || fs->number < ds->number)) {
			/* new */
			i++;
			r->res.seats.created++;
		} else if (fs == NULL || ds->number < fs->number) {
			/* in the database only */
			k++;
			if (!r->prune)
				continue;
			if (ds->in_use != 0) {
				refuse(r, c, d, ds->number, ds->in_use < 0 ?
				    IN_USE_EXPIRED : ds->in_use, "deletes it");
				continue;
			}
			if (grow_int(&r->del, r->ndel, &r->delcap) == -1 ||
			    grow_int(&r->lock, r->nlock, &r->lockcap) == -1)
				goto nomem;
			r->del[r->ndel++] = ds->number;
			r->lock[r->nlock++] = ds->number;
			continue;
		} else {
			/* the same seat number in both */
			const struct cat_block *b = &d->blocks[fs->block];

			i++;
			k++;
			if (strcmp(b->section, ds->section) == 0 &&
			    strcmp(b->grade, ds->grade) == 0 &&
			    b->price == ds->price) {
				r->res.seats.unchanged++;
				continue;
			}
			if (ds->in_use > 0) {
				char what[200];

				refuse(r, c, d, ds->number, ds->in_use,
				    change(ds, b, what, sizeof(what)));
				continue;
			}
			r->res.seats.updated++;
			if (grow_int(&r->lock, r->nlock, &r->lockcap) == -1)
				goto nomem;
			r->lock[r->nlock++] = ds->number;
		}
		if (r->nwrite == r->writecap) {
			size_t ncap = r->writecap ? r->writecap * 2 : 1024;
			const struct cat_seat **n;

			if ((n = realloc(r->write, ncap * sizeof(*n))) == NULL)
				goto nomem;
			r->write = n;
			r->writecap = ncap;
		}
		r->write[r->nwrite++] = fs;
	}
	/* The lock: a hold or a payment that committed since the read is
	 * seen now; one that comes later waits for our commit. */
	if (r->nlock > 0 && each_batch(r, st_seats_lock, c, d, r->lock,
	    r->nlock, check_locked) < 0)
		return -1;
	if (r->res.refused > refused)
		return 0;               /* nothing written: rolled back anyway */
	if (write_seats(r, c, d) == -1)
		return -1;
	if (r->ndel > 0) {
		if ((a = each_batch(r, st_seats_delete, c, d, r->del, r->ndel,
		    NULL)) < 0)
			return -1;
		if ((size_t)a != r->ndel) {
			snprintf(r->err, sizeof(r->err), "concert %lld on %s: "
			    "deleted %lld seats of %zu", c->id, d->date, a,
			    r->ndel);
			return -1;
		}
		r->res.seats.deleted += (long)r->ndel;
	}
	return 0;
nomem:
	snprintf(r->err, sizeof(r->err), "out of memory");
	return -1;
}

static enum db_tx_result
import_body(void *arg)
{
	struct run *r = arg;
	const struct catalog *cat = r->cat;
	long long a, id;
	size_t i, j;
	int g;

	run_reset(r);
	for (i = 0; i < cat->nconcerts; i++) {
		const struct cat_concert *c = &cat->concerts[i];

		if ((a = db_exec(st_concert_upsert, "isss", (long long)c->id,
		    c->title, c->venue, c->on_sale_at)) < 0)
			return DB_TX_ERROR;
		count(&r->res.concerts, a);
		if (db_exec(st_concert_lock, "i", (long long)c->id) < 0)
			return DB_TX_ERROR;
		while ((g = db_fetch(st_concert_lock, "i", &id)) == 1)
			;
		if (g < 0)
			return DB_TX_ERROR;
		for (g = 0; g < c->ngrades; g++) {
			if ((a = db_exec(st_grade_upsert, "isi", (long long)c->id,
			    c->grades[g].grade, c->grades[g].price)) < 0)
				return DB_TX_ERROR;
			count(&r->res.grades, a);
		}
		for (j = 0; j < c->ndates; j++) {
			const struct cat_date *d = &c->dates[j];

			if ((a = db_exec(st_date_upsert, "iss", (long long)c->id,
			    d->date, d->title)) < 0)
				return DB_TX_ERROR;
			count(&r->res.dates, a);
			if (import_date(r, c, d) == -1)
				return DB_TX_ERROR;
		}
	}
	if (r->res.refused > 0 || r->dry_run)
		return DB_TX_ROLLBACK;
	return DB_TX_COMMIT;
}

static void
import_failed(void *arg, int attempt)
{
	struct run *r = arg;

	if (r->err[0] == '\0')
		log_warn("import attempt %d failed: %s", attempt, db_error());
}

enum import_rc
import_run(const struct catalog *cat, int prune, int dry_run,
    struct import_result *res, FILE *errfp, char *err, size_t errlen)
{
	struct run r;
	enum db_tx_result tx;
	enum import_rc rc;
	long i;

	memset(&r, 0, sizeof(r));
	r.cat = cat;
	r.prune = prune;
	r.dry_run = dry_run;
	tx = db_tx_run(import_body, import_failed, &r);
	*res = r.res;
	if (tx == DB_TX_ERROR) {
		if (r.err[0] != '\0')
			snprintf(err, errlen, "%s", r.err);
		else
			snprintf(err, errlen, "database error %u: %s", db_errno(),
			    db_error());
		rc = IMPORT_DB_ERROR;
	} else if (r.res.refused > 0) {
		for (i = 0; i < r.res.refused && i < IMPORT_REFUSED_MAX; i++)
			if (r.refusals[i] != NULL)
				fprintf(errfp, "%s\n", r.refusals[i]);
		if (r.res.refused > IMPORT_REFUSED_MAX)
			fprintf(errfp, "%s: refused: %ld more seats\n", cat->name,
			    r.res.refused - IMPORT_REFUSED_MAX);
		rc = IMPORT_REFUSED;
	} else
		rc = IMPORT_OK;
	run_reset(&r);
	free(r.db);
	free(r.lock);
	free(r.del);
	free(r.write);
	return rc;
}
