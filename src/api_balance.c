/*
 * api_balance: charge and read a user's balance.
 *
 * A charge is an atomic increment guarded by the ceiling (never a
 * read-modify-write in C), plus one ledger row in the same transaction:
 * users.balance = SUM(balance_ledger.delta) at every commit.
 */
#include "api.h"
#include "db.h"

static struct db_stmt *st_credit, *st_ledger, *st_read;

int
api_balance_prepare(void)
{
	/* One statement registers or credits the user under an exclusive
	 * row lock from the start.  (INSERT IGNORE then UPDATE would take a
	 * shared lock first, and two charges upgrading it deadlock.)
	 * Affected rows: 1 inserted, 2 credited, 0 refused by the ceiling. */
	st_credit = db_stmt("INSERT INTO users (id, balance) VALUES (?, ?)"
	    " ON DUPLICATE KEY UPDATE balance = IF(balance <= ? - VALUES(balance),"
	    " balance + VALUES(balance), balance)");
	st_ledger = db_stmt("INSERT INTO balance_ledger (user_id, delta, kind)"
	    " VALUES (?, ?, 'CHARGE')");
	st_read = db_stmt("SELECT balance FROM users WHERE id = ?");
	return st_credit && st_ledger && st_read ? 0 : -1;
}

int
api_charge(struct api_ctx *c)
{
	const unsigned char *user = c->p->v[P_USER_ID].u;
	long long amount = c->p->v[P_CHARGE_AMOUNT].i, n, bal;
	json_object *o;

	if (amount > c->cfg->max_balance)
		n = 0;
	else if ((n = db_exec(st_credit, "uii", user, amount,
	    (long long)c->cfg->max_balance)) < 0)
		return -1;
	if (n == 0) {
		http_error(c->w, 422, "BALANCE_LIMIT_EXCEEDED",
		    "the balance may not exceed %ld", c->cfg->max_balance);
		return 0;
	}
	if (db_exec(st_ledger, "ui", user, amount) != 1)
		return -1;
	if (db_exec(st_read, "u", user) < 0 ||
	    db_fetch(st_read, "i", &bal) != 1)
		return -1;
	db_done(st_read);
	o = json_object_new_object();
	json_object_object_add(o, "newBalance", json_object_new_int64(bal));
	http_json(c->w, 200, o);
	return 0;
}

int
api_balance(struct api_ctx *c)
{
	long long bal;
	json_object *o;
	int rc;

	if (db_exec(st_read, "u", c->p->v[P_USER_ID].u) < 0)
		return -1;
	rc = db_fetch(st_read, "i", &bal);
	db_done(st_read);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		http_error(c->w, 404, "USER_NOT_FOUND", "unknown user");
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "currentBalance", json_object_new_int64(bal));
	http_json(c->w, 200, o);
	return 0;
}
