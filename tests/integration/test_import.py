"""concertctl import: operators load concerts, grades, dates and seats from a file (issue 12,
part 6).

Each test imports a catalogue of its own (a fresh concert id, dates far ahead) into the suite's
database with the real command and the stack's own config, then looks at the result through the
real stack -- every front door for the catalogue, the dates, the seat map, the summary and a
hold + payment on an imported seat -- or at the database: a file with errors writes nothing and
says exactly what is wrong where (file:line, or the JSON path), a second import of the same file
changes nothing, a price change of free seats is applied, and one that would change or delete a
held or a sold seat is refused with those seats named and nothing written.  A 50,000-seat date
is imported and its time printed.
"""
import json
import os
import random
import subprocess
import time
import uuid

import pytest

from helpers import (BUILD, CONF, api, charge, mysql_cmd, new_user, scalar, sql, wait_until)

CTL = os.path.join(BUILD, "src", "concertctl")
PAST = "2026-01-01T00:00:00Z"        # on sale already: holds need no pre-queue wait

_my_concerts = []


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    if not os.access(CTL, os.X_OK):
        pytest.skip("concertctl is not built (%s)" % CTL)
    yield
    # Holds and tokens go; sold seats and their confirmed reservations stay (the invariants
    # check them), and with them their concert's rows.  Concerts without a sale go entirely.
    for cid in _my_concerts:
        sql("DELETE FROM reservations WHERE concert_id = {c} AND state <> 1;"
            " UPDATE queue_tokens SET state = 2, live_user = NULL,"
            " expires_at = UTC_TIMESTAMP(3) WHERE concert_id = {c} AND state IN (0, 1);"
            " UPDATE seats SET state = 0, hold_user = NULL, hold_expires_at = NULL,"
            " reservation_id = NULL WHERE concert_id = {c} AND state = 1;"
            " DELETE FROM seats WHERE concert_id = {c} AND state = 0;"
            " DELETE FROM concert_dates WHERE concert_id = {c} AND NOT EXISTS"
            "  (SELECT 1 FROM seats s WHERE s.concert_id = {c}"
            "   AND s.concert_date = concert_dates.concert_date);"
            " DELETE FROM concert_grades WHERE concert_id = {c} AND NOT EXISTS"
            "  (SELECT 1 FROM seats s WHERE s.concert_id = {c});"
            " DELETE FROM concerts WHERE id = {c} AND NOT EXISTS"
            "  (SELECT 1 FROM concert_dates d WHERE d.concert_id = {c})"
            "  AND NOT EXISTS (SELECT 1 FROM queue_tokens t WHERE t.concert_id = {c})"
            .format(c=cid))


def new_id():
    """A concert id nobody uses."""
    for _ in range(100):
        cid = random.randint(20000, 60000)
        if scalar("SELECT COUNT(*) FROM concerts WHERE id = %d" % cid) == "0" and \
                cid not in _my_concerts:
            _my_concerts.append(cid)
            return cid
    raise AssertionError("no free concert id")


def future_dates(n):
    """n distinct dates of one month far ahead (YYYY-MM-DD), in order."""
    y, m = random.randint(2080, 2099), random.randint(1, 12)
    return ["%04d-%02d-%02d" % (y, m, d) for d in sorted(random.sample(range(1, 29), n))]


def run_ctl(path, *args):
    """concertctl -c CONF import ARGS PATH: (exit status, stdout, stderr)."""
    r = subprocess.run([CTL, "-c", CONF, "import"] + list(args) + [path],
                       capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout, r.stderr


def counts(out):
    """The summary lines of an import: {"seats": {"created": n, ...}, ...}."""
    res = {}
    for line in out.splitlines():
        what, sep, rest = line.partition(": ")
        if sep and "=" in rest:
            res[what] = {k: int(v) for k, v in (p.split("=") for p in rest.split())}
    return res


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_text(json.dumps(text, indent=1))
    return str(p)


def catalogue(cid, dates, on_sale=PAST, vip=150000, r_price=90000):
    """A concert with grades VIP and R: on each date seats 1-4 VIP in section FLOOR, 5-8 R in
    section A, and 9 without a grade at 30000 in section A."""
    return {"concerts": [{
        "id": cid, "title": "Imported %d" % cid, "venue": "Import Hall",
        "onSaleAt": on_sale,
        "grades": [{"grade": "VIP", "price": vip}, {"grade": "R", "price": r_price}],
        "dates": [{"date": d, "title": "night %d" % (i + 1), "seats": [
            {"section": "FLOOR", "grade": "VIP", "from": 1, "to": 4},
            {"section": "A", "grade": "R", "from": 5, "to": 8},
            {"section": "A", "price": 30000, "numbers": [9]}]}
            for i, d in enumerate(dates)]}]}


CSV_HEADER = "concert_id,title,venue,on_sale_at,date,date_title,section,grade,price,seat\n"


def catalogue_csv(cid, dates, vip=150000, r_price=90000):
    """The same catalogue as catalogue(), as CSV rows."""
    rows = [CSV_HEADER]
    for i, d in enumerate(dates):
        pre = '%d,"Imported %d",Import Hall,%s,%s,night %d,' % (cid, cid, PAST, d, i + 1)
        rows += [pre + "FLOOR,VIP,%d,1-4\n" % vip, pre + "A,R,%d,5-6\n" % r_price,
                 pre + "A,R,%d,7\n" % r_price, pre + "A,R,%d,8\n" % r_price,
                 pre + "A,,30000,9\n"]
    return "".join(rows)


def snapshot(cid):
    """What the import could have touched: the catalogue tables whole, the seat count, and the
    concert's rows."""
    return (sql("CHECKSUM TABLE concerts, concert_grades, concert_dates"),
            scalar("SELECT COUNT(*) FROM seats"),
            sql("SELECT * FROM concerts WHERE id = %d" % cid),
            sql("SELECT * FROM concert_grades WHERE concert_id = %d ORDER BY grade" % cid),
            sql("SELECT * FROM concert_dates WHERE concert_id = %d ORDER BY concert_date" % cid),
            sql("SELECT concert_date, seat_number, section, grade, price, state,"
                " HEX(hold_user), hold_expires_at, HEX(reservation_id) FROM seats"
                " WHERE concert_id = %d ORDER BY concert_date, seat_number" % cid))


def active_token(user, cid, base):
    t = api("POST", "/token", {"userId": user, "concertId": cid}, base=base)
    assert t.status == 201, t
    tok = t.json["token"]
    wait_until(lambda: api("GET", "/token?token=" + tok, base=base).json["status"] == "ACTIVE",
               20, what="token admitted")
    return tok


def hold_seat(cid, date, seat, base=None):
    """A hold on the seat through the real stack: (user, token, reservation)."""
    u = new_user()
    tok = active_token(u, cid, base)
    h = api("POST", "/reservations", {"date": date, "seatNumber": seat, "token": tok,
                                      "concertId": cid}, base=base)
    assert h.status == 201, h
    return u, tok, h.json


# ------------------------------------------------------------- a new concert, seen everywhere

@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_imported_concert_is_served_and_sells(tmp_path, web, fmt):
    cid = new_id()
    dates = future_dates(2)
    if fmt == "json":
        path = write(tmp_path, "cat.json", catalogue(cid, dates))
    else:
        path = write(tmp_path, "cat.csv", catalogue_csv(cid, dates))
    rc, out, err = run_ctl(path)
    assert rc == 0, err
    assert counts(out) == {
        "concerts": {"created": 1, "updated": 0, "unchanged": 0},
        "grades": {"created": 2, "updated": 0, "unchanged": 0},
        "dates": {"created": 2, "updated": 0, "unchanged": 0},
        "seats": {"created": 18, "updated": 0, "unchanged": 0, "deleted": 0}}, out
    assert out.splitlines()[-1].startswith(path + ": imported in "), out

    # The catalogue.
    r = api("GET", "/concerts", base=web)
    assert r.status == 200, r
    mine = [c for c in r.json if c["id"] == cid]
    assert mine == [{"id": cid, "title": "Imported %d" % cid, "venue": "Import Hall",
                     "onSaleAt": "2026-01-01T00:00:00.000Z",
                     "dates": [{"date": d, "seatsLeft": 9} for d in dates]}], r.json
    r = api("GET", "/reservations/dates?concertId=%d" % cid, base=web)
    assert r.status == 200, r
    assert r.json == dates, r
    # The seat map, whole and per section, and the summary.
    d = dates[0]
    r = api("GET", "/reservations/seats?date=%s&concertId=%d" % (d, cid), base=web)
    assert r.status == 200, r
    assert [(s["seatNumber"], s["price"], s.get("section"), s.get("grade", ""),
             s["available"]) for s in r.json] == \
        [(n, 150000, "FLOOR", "VIP", True) for n in range(1, 5)] + \
        [(n, 90000, "A", "R", True) for n in range(5, 9)] + [(9, 30000, "A", "", True)], r
    r = api("GET", "/reservations/seats?date=%s&concertId=%d&section=FLOOR" % (d, cid),
            base=web)
    assert [s["seatNumber"] for s in r.json] == [1, 2, 3, 4], r
    r = api("GET", "/reservations/summary?date=%s&concertId=%d" % (d, cid), base=web)
    assert r.status == 200, r
    assert r.json == [
        {"section": "A", "grade": "", "seats": 1, "free": 1, "minPrice": 30000,
         "maxPrice": 30000},
        {"section": "A", "grade": "R", "seats": 4, "free": 4, "minPrice": 90000,
         "maxPrice": 90000},
        {"section": "FLOOR", "grade": "VIP", "seats": 4, "free": 4, "minPrice": 150000,
         "maxPrice": 150000}], r

    # A hold and a payment on an imported seat, through this door.
    u, tok, h = hold_seat(cid, d, 2, base=web)
    assert h["price"] == 150000, h
    assert charge(u, 150000).status == 200
    p = api("POST", "/payments", {"reservationId": h["reservationId"], "amount": 150000,
                                  "token": tok}, base=web)
    assert p.status == 201, p
    assert scalar("SELECT state FROM seats WHERE concert_id = %d AND concert_date = '%s'"
                  " AND seat_number = 2" % (cid, d)) == "2"
    r = api("GET", "/reservations/summary?date=%s&concertId=%d" % (d, cid), base=web)
    assert [x["free"] for x in r.json] == [1, 4, 3], r


# ------------------------------------------------------------- idempotent, updates, dry run

def test_reimport_is_a_no_op(tmp_path):
    cid = new_id()
    path = write(tmp_path, "cat.json", catalogue(cid, future_dates(2)))
    assert run_ctl(path)[0] == 0
    before = snapshot(cid)
    rc, out, err = run_ctl(path)
    assert rc == 0, err
    assert counts(out) == {
        "concerts": {"created": 0, "updated": 0, "unchanged": 1},
        "grades": {"created": 0, "updated": 0, "unchanged": 2},
        "dates": {"created": 0, "updated": 0, "unchanged": 2},
        "seats": {"created": 0, "updated": 0, "unchanged": 18, "deleted": 0}}, out
    assert snapshot(cid) == before
    # The same catalogue as CSV is the same data: unchanged too.
    rc, out, err = run_ctl(write(tmp_path, "cat.csv",
                                 catalogue_csv(cid, [r[1] for r in before[4]])))
    assert rc == 0, err
    assert counts(out)["seats"] == {"created": 0, "updated": 0, "unchanged": 18,
                                    "deleted": 0}, out
    assert snapshot(cid) == before


def test_price_change_of_free_seats_is_applied(tmp_path, web):
    cid = new_id()
    dates = future_dates(1)
    assert run_ctl(write(tmp_path, "a.json", catalogue(cid, dates)))[0] == 0
    cat = catalogue(cid, dates, r_price=95000)
    cat["concerts"][0]["title"] = "Renamed"
    cat["concerts"][0]["dates"][0]["seats"][2]["section"] = "B"
    rc, out, err = run_ctl(write(tmp_path, "b.json", cat))
    assert rc == 0, err
    assert counts(out) == {
        "concerts": {"created": 0, "updated": 1, "unchanged": 0},
        "grades": {"created": 0, "updated": 1, "unchanged": 1},
        "dates": {"created": 0, "updated": 0, "unchanged": 1},
        "seats": {"created": 0, "updated": 5, "unchanged": 4, "deleted": 0}}, out
    assert sql("SELECT grade, price FROM concert_grades WHERE concert_id = %d ORDER BY grade"
               % cid) == [("R", "95000"), ("VIP", "150000")]
    r = api("GET", "/reservations/seats?date=%s&concertId=%d" % (dates[0], cid), base=web)
    assert [(s["seatNumber"], s["price"], s["section"]) for s in r.json][4:] == \
        [(5, 95000, "A"), (6, 95000, "A"), (7, 95000, "A"), (8, 95000, "A"), (9, 30000, "B")]
    assert [c["title"] for c in api("GET", "/concerts", base=web).json
            if c["id"] == cid] == ["Renamed"]


def test_dry_run_writes_nothing(tmp_path):
    cid = new_id()
    before = snapshot(cid)
    path = write(tmp_path, "cat.json", catalogue(cid, future_dates(1)))
    rc, out, err = run_ctl(path, "--dry-run")
    assert rc == 0, err
    assert counts(out)["seats"]["created"] == 9, out
    assert out.splitlines()[-1].startswith(path + ": dry run, rolled back: nothing written")
    assert snapshot(cid) == before


def test_prune_deletes_free_seats_left_out(tmp_path):
    cid = new_id()
    dates = future_dates(1)
    assert run_ctl(write(tmp_path, "a.json", catalogue(cid, dates)))[0] == 0
    cat = catalogue(cid, dates)
    cat["concerts"][0]["dates"][0]["seats"].pop()           # seat 9
    path = write(tmp_path, "b.json", cat)
    rc, out, err = run_ctl(path)                             # without --prune: kept
    assert rc == 0 and counts(out)["seats"]["deleted"] == 0, (out, err)
    assert scalar("SELECT COUNT(*) FROM seats WHERE concert_id = %d" % cid) == "9"
    rc, out, err = run_ctl(path, "--prune")
    assert rc == 0, err
    assert counts(out)["seats"] == {"created": 0, "updated": 0, "unchanged": 8,
                                    "deleted": 1}, out
    assert scalar("SELECT COUNT(*) FROM seats WHERE concert_id = %d" % cid) == "8"


# ------------------------------------------------------------- held and sold seats

def test_change_of_held_or_sold_seat_is_refused(tmp_path):
    cid = new_id()
    dates = future_dates(1)
    d = dates[0]
    assert run_ctl(write(tmp_path, "a.json", catalogue(cid, dates)))[0] == 0
    # Seat 5 (R) held, seat 6 (R) sold, through the real stack.
    hold_seat(cid, d, 5)
    u, tok, h = hold_seat(cid, d, 6)
    assert charge(u, 90000).status == 200
    assert api("POST", "/payments", {"reservationId": h["reservationId"], "amount": 90000,
                                     "token": tok}).status == 201
    before = snapshot(cid)
    # Grade R's price would change seats 5-8: 7 and 8 are free, 5 and 6 are not.
    path = write(tmp_path, "b.json", catalogue(cid, dates, r_price=99000))
    rc, out, err = run_ctl(path)
    assert rc == 3, (out, err)
    assert err.splitlines() == [
        "%s: refused: seat 5 of concert %d on %s is held (the file changes its price 90000 -> "
        "99000)" % (path, cid, d),
        "%s: refused: seat 6 of concert %d on %s is sold (the file changes its price 90000 -> "
        "99000)" % (path, cid, d),
        "concertctl: %s: 2 sold or held seats in the way, nothing imported" % path], err
    assert out == ""
    assert snapshot(cid) == before
    # Deleting them (--prune, seats 5-9 left out) is refused the same way.
    cat = catalogue(cid, dates)
    cat["concerts"][0]["dates"][0]["seats"][1:] = []
    path = write(tmp_path, "c.json", cat)
    rc, out, err = run_ctl(path, "--prune")
    assert rc == 3, (out, err)
    assert err.splitlines()[:2] == [
        "%s: refused: seat 5 of concert %d on %s is held (the file deletes it)" % (path, cid, d),
        "%s: refused: seat 6 of concert %d on %s is sold (the file deletes it)" % (path, cid, d)]
    # A section and a grade change are named too.
    cat = catalogue(cid, dates)
    cat["concerts"][0]["dates"][0]["seats"][1]["section"] = "B"
    cat["concerts"][0]["dates"][0]["seats"][1]["grade"] = "VIP"
    path = write(tmp_path, "e.json", cat)
    rc, out, err = run_ctl(path)
    assert rc == 3, (out, err)
    assert err.splitlines()[0] == "%s: refused: seat 5 of concert %d on %s is held (the file " \
        "changes its price 90000 -> 150000, grade 'R' -> 'VIP', section 'A' -> 'B')" % (
            path, cid, d), err
    assert snapshot(cid) == before
    assert snapshot(cid) == before
    # What does not touch them still imports: a new seat, the same held and sold ones.
    cat = catalogue(cid, dates)
    cat["concerts"][0]["dates"][0]["seats"].append({"price": 1000, "numbers": [10]})
    rc, out, err = run_ctl(write(tmp_path, "d.json", cat))
    assert rc == 0, err
    assert counts(out)["seats"] == {"created": 1, "updated": 0, "unchanged": 9,
                                    "deleted": 0}, out


def test_hold_racing_the_import_is_seen(tmp_path):
    """A hold that commits while the import waits for the seat's lock is seen under that lock:
    the import is refused, not applied over the hold."""
    cid = new_id()
    dates = future_dates(1)
    d = dates[0]
    assert run_ctl(write(tmp_path, "a.json", catalogue(cid, dates)))[0] == 0
    before = snapshot(cid)
    path = write(tmp_path, "b.json", catalogue(cid, dates, vip=160000))
    # Another session locks seat 1 (as a hold does), and holds it just before committing.
    lock = subprocess.Popen(mysql_cmd() + ["--unbuffered"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def say(stmts):
        lock.stdin.write(stmts + " SELECT 'done';\n")
        lock.stdin.flush()
        line = lock.stdout.readline()
        assert line.strip() == "done", (line, lock.stderr.read() if not line else "")
    try:
        say("BEGIN; SELECT state INTO @s FROM seats WHERE concert_id = %d AND"
            " concert_date = '%s' AND seat_number = 1 FOR UPDATE;" % (cid, d))
        p = subprocess.Popen([CTL, "-c", CONF, "import", path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        assert p.poll() is None, p.communicate()     # waiting for the seat
        say("UPDATE seats SET state = 1, hold_user = UNHEX('%s'),"
            " hold_expires_at = UTC_TIMESTAMP(3) + INTERVAL 5 MINUTE"
            " WHERE concert_id = %d AND concert_date = '%s' AND seat_number = 1; COMMIT;"
            % (uuid.uuid4().hex, cid, d))
        out, err = p.communicate(timeout=60)
    finally:
        lock.stdin.close()
        lock.wait(10)
    assert p.returncode == 3, (out, err)
    assert "%s: refused: seat 1 of concert %d on %s is held (the file changes its price " \
        "150000 -> 160000)" % (path, cid, d) in err.splitlines(), err
    after = snapshot(cid)
    assert after[3] == before[3]                     # the grade's price unchanged
    sql("UPDATE seats SET state = 0, hold_user = NULL, hold_expires_at = NULL"
        " WHERE concert_id = %d AND concert_date = '%s' AND seat_number = 1" % (cid, d))


# ------------------------------------------------------------- bad files: exact messages

def test_bad_json_files_name_line_or_path_and_write_nothing(tmp_path):
    cid = new_id()
    before = snapshot(cid)
    syntax = write(tmp_path, "syntax.json",
                   '{"concerts": [\n  {"id": %d, "title": "x",\n   "venue": "y",}\n]}\n' % cid)
    rc, out, err = run_ctl(syntax)
    assert rc == 1 and out == ""
    assert err.splitlines() == [
        "%s:3:17: JSON syntax error: unexpected character" % syntax,
        "concertctl: %s: 1 error, nothing imported" % syntax], err
    cat = catalogue(cid, ["2081-02-30", "2081-03-01"])
    c = cat["concerts"][0]
    c["onSaleAt"] = "tomorrow"
    c["grades"][1]["price"] = 0
    c["dates"][1]["seats"][0]["grade"] = "GOLD"
    c["dates"][1]["seats"][1]["to"] = 2
    c["dates"][1]["seats"].append({"price": 5, "numbers": [9]})
    bad = write(tmp_path, "bad.json", cat)
    text = open(bad).read()

    def line(needle, nth=1):
        """The line of the nth occurrence of needle in the file."""
        at = -1
        for _ in range(nth):
            at = text.index(needle, at + 1)
        return text.count("\n", 0, at) + 1
    rc, out, err = run_ctl(bad)
    assert rc == 1 and out == ""
    assert err.splitlines() == [
        "%s:%d: concerts[0].onSaleAt: not an ISO-8601 UTC time (YYYY-MM-DDTHH:MM:SSZ): "
        "'tomorrow'" % (bad, line('"onSaleAt"')),
        "%s:%d: concerts[0].grades[1].price: out of range [1, 1000000000000]: 0"
        % (bad, line('"price": 0')),
        "%s:%d: concerts[0].dates[0].date: not a date (YYYY-MM-DD): '2081-02-30'"
        % (bad, line('"2081-02-30"')),
        "%s:%d: concerts[0].dates[1].seats[0].grade: grade 'GOLD' is not one of the "
        "concert's grades" % (bad, line('"GOLD"')),
        "%s:%d: concerts[0].dates[1].seats[1].grade: grade 'R' is not one of the "
        "concert's grades" % (bad, line('"grade": "R"', 3)),
        "%s:%d: concerts[0].dates[1].seats[1].to: 2 is below from (5)"
        % (bad, line('"to": 2')),
        # a whole block: the line of its "{"
        "%s:%d: concerts[0].dates[1].seats[3]: seat 9 of concert %d on 2081-03-01 is "
        "listed twice (also concerts[0].dates[1].seats[2])"
        % (bad, line('"price": 5,') - 1, cid),
        "concertctl: %s: 7 errors, nothing imported" % bad], err
    assert snapshot(cid) == before


def test_bad_csv_file_names_every_line_and_writes_nothing(tmp_path):
    cid = new_id()
    d = future_dates(1)[0]
    good = catalogue_csv(cid, [d]).splitlines(True)
    before = snapshot(cid)
    lines = good[:3] + [
        "%d,\"Imported %d\",Import Hall,%s,%s,night 1,A,R,91000,7\n" % (cid, cid, PAST, d),
        "%d,Other,Import Hall,%s,%s,night 1,A,,100,10\n" % (cid, PAST, d),
        "%d,\"Imported %d\",Import Hall,%s,%s,night 1,A B,,100,11\n" % (cid, cid, PAST, d),
        "%d,\"Imported %d\",Import Hall,%s,%s,night 1,A,,100,1\n" % (cid, cid, PAST, d),
        "%d,\"Imported %d\",Import Hall,%s,%s,night 1,A,,100\n" % (cid, cid, PAST, d),
        "%d,\"Imported %d\",Import Hall,%s,%s,night 1,A,,0,12-11\n" % (cid, cid, PAST, d),
    ]
    bad = write(tmp_path, "bad.csv", "".join(lines))
    rc, out, err = run_ctl(bad)
    assert rc == 1 and out == ""
    assert err.splitlines() == [
        "%s:4: price 91000 of grade 'R' differs from 90000 on line 3 (a grade has one price)"
        % bad,
        "%s:5: title of concert %d 'Other' differs from 'Imported %d' on line 2"
        % (bad, cid, cid),
        "%s:6: section: only letters, digits, '-' and '_' are allowed: 'A B'" % bad,
        "%s:8: 9 fields, the header has 10" % bad,
        "%s:9: price: not a price 1 to 1000000000000: '0'" % bad,
        "%s:9: seat: not a seat number or range 1 to 1000000 (\"17\", \"1-500\"): '12-11'"
        % bad,
        "%s:7: seat 1 of concert %d on %s is listed twice (also line 2)" % (bad, cid, d),
        "concertctl: %s: 7 errors, nothing imported" % bad], err
    syntax = write(tmp_path, "syntax.csv", good[0] + good[1] + '%d,"Imported,x\n' % cid)
    rc, out, err = run_ctl(syntax)
    assert rc == 1
    assert err.splitlines() == [
        "%s:3: quoted field not closed at the end of the file" % syntax,
        "concertctl: %s: 1 error, nothing imported" % syntax], err
    assert snapshot(cid) == before


def test_a_bad_line_in_an_update_keeps_the_old_catalogue(tmp_path):
    """One wrong line in a file that also changes good rows: none of them is applied."""
    cid = new_id()
    d = future_dates(1)[0]
    assert run_ctl(write(tmp_path, "a.csv", catalogue_csv(cid, [d])))[0] == 0
    before = snapshot(cid)
    text = catalogue_csv(cid, [d], vip=170000) + \
        "%d,\"Imported %d\",Import Hall,%s,%s,night 1,A,,100,2000000\n" % (cid, cid, PAST, d)
    bad = write(tmp_path, "b.csv", text)
    rc, out, err = run_ctl(bad)
    assert rc == 1
    assert err.splitlines()[0] == "%s:7: seat: not a seat number or range 1 to 1000000 " \
        "(\"17\", \"1-500\"): '2000000'" % bad
    assert snapshot(cid) == before


def test_usage_errors(tmp_path):
    r = subprocess.run([CTL, "-c", CONF, "import"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("usage: concertctl "), r
    r = subprocess.run([CTL, "-c", CONF, "export", "x"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown command 'export'" in r.stderr, r
    r = subprocess.run([CTL, "-c", CONF, "import", str(tmp_path / "none.json")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == "%s: open failed: No such file or directory" % (
        tmp_path / "none.json"), r


# ------------------------------------------------------------- a stadium

def test_stadium_of_50000_seats_imports_in_one_go(tmp_path):
    cid = new_id()
    d = future_dates(1)[0]
    grades = [("VIP", 220000), ("R", 165000), ("S", 132000), ("A", 99000)]
    cat = {"concerts": [{"id": cid, "title": "Stadium import", "venue": "Big",
                         "grades": [{"grade": g, "price": p} for g, p in grades],
                         "dates": [{"date": d, "seats": [
                             {"section": "S%02d" % (i + 1), "grade": grades[min(i // 13, 3)][0],
                              "from": i * 1000 + 1, "to": i * 1000 + 1000}
                             for i in range(50)]}]}]}
    path = write(tmp_path, "stadium.json", cat)
    t0 = time.monotonic()
    rc, out, err = run_ctl(path)
    took = time.monotonic() - t0
    assert rc == 0, err
    assert counts(out)["seats"]["created"] == 50000, out
    t0 = time.monotonic()
    rc, out2, err = run_ctl(path)
    again = time.monotonic() - t0
    assert rc == 0 and counts(out2)["seats"]["unchanged"] == 50000, out2
    print("\nconcertctl import of a 50,000-seat date: %.2f s (again, unchanged: %.2f s)"
          % (took, again))
    assert scalar("SELECT COUNT(*) FROM seats WHERE concert_id = %d" % cid) == "50000"
    r = api("GET", "/reservations/summary?date=%s&concertId=%d" % (d, cid))
    assert r.status == 200 and sum(x["free"] for x in r.json) == 50000, r
