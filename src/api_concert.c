/*
 * api_concert: the catalogue, GET /api/v1/concerts (issue 12).
 *
 * Every concert with its title, venue, on-sale time and its dates from
 * today on, each with the number of seats left (available by the same
 * rule as the seat map: FREE, or HELD past its deadline).  One statement:
 * concerts joined to their dates, the count a correlated subquery on the
 * seats' primary key prefix (concert_id, concert_date), bounded by
 * CONCERT_ROWS_MAX (concert, date) rows.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "model.h"
#include "util.h"

/* (concert, date) rows answered at most: the catalogue of an on-sale
 * service is small; a longer one is cut (the answer's last concert may
 * then miss dates). */
#define CONCERT_ROWS_MAX 2000

static struct db_stmt *st_concerts;

int
api_concert_prepare(void)
{
	st_concerts = db_stmt("SELECT c.id, c.title, c.venue,"
	    " IFNULL(DATE_FORMAT(c.on_sale_at, '%Y-%m-%d %H:%i:%s.%f'), ''),"
	    " IFNULL(DATE_FORMAT(d.concert_date, '%Y-%m-%d'), ''),"
	    " (SELECT COUNT(*) FROM seats s WHERE s.concert_id = d.concert_id"
	    "   AND s.concert_date = d.concert_date"
	    "   AND (s.state = " SQL_SEAT_FREE " OR (s.state = " SQL_SEAT_HELD
	    "   AND s.hold_expires_at <= UTC_TIMESTAMP(3))))"
	    " FROM concerts c LEFT JOIN concert_dates d"
	    "   ON d.concert_id = c.id AND d.concert_date >= UTC_DATE()"
	    " ORDER BY c.id, d.concert_date"
	    " LIMIT " MODEL_STR(CONCERT_ROWS_MAX));
	return st_concerts != NULL ? 0 : -1;
}

int
api_concerts(struct api_ctx *c)
{
	json_object *a, *cur = NULL, *dates = NULL;
	char title[256], venue[256], onsale[40], date[16], iso[ISO_TIME_LEN];
	long long id, last = 0, left;
	int rc;

	if (db_exec(st_concerts, "") < 0)
		return -1;
	a = json_object_new_array();
	while ((rc = db_fetch(st_concerts, "issssi", &id, title,
	    sizeof(title), venue, sizeof(venue), onsale, sizeof(onsale), date,
	    sizeof(date), &left)) == 1) {
		if (cur == NULL || id != last) {
			cur = json_object_new_object();
			dates = json_object_new_array();
			json_object_object_add(cur, "id", json_object_new_int64(id));
			json_object_object_add(cur, "title",
			    json_object_new_string(title));
			json_object_object_add(cur, "venue",
			    json_object_new_string(venue));
			if (onsale[0] != '\0' &&
			    util_mysql_to_iso(onsale, iso, sizeof(iso)) == 0)
				json_object_object_add(cur, "onSaleAt",
				    json_object_new_string(iso));
			else
				json_object_object_add(cur, "onSaleAt", NULL);
			json_object_object_add(cur, "dates", dates);
			json_object_array_add(a, cur);
			last = id;
		}
		if (date[0] != '\0') {
			json_object *d = json_object_new_object();

			json_object_object_add(d, "date",
			    json_object_new_string(date));
			json_object_object_add(d, "seatsLeft",
			    json_object_new_int64(left));
			json_object_array_add(dates, d);
		}
	}
	if (rc < 0) {
		json_object_put(a);
		return -1;
	}
	http_json(c->w, 200, a);
	return 0;
}
