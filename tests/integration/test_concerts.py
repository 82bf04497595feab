"""Concerts, each with its own dates, seats and waiting line (issue 12, part 2).

Through every front door (nginx, Apache, Apache/mod_fcgid) on the suite's
stack: the catalogue, concertId on dates, seats, holds and POST /token
(absent: the default concert 1), its validation, one live token per user
per concert, and a token that admits to its own concert only.  In isolated
stacks (own database, small caps): each concert's line is admitted to its
own cap, in its own FIFO order.  And the upgrade: a database made by the
schema before concerts existed, then started with this one (twice).
"""
import os
import random
import uuid

import pytest

from helpers import (ROOT, active_token, api, assert_error, charge, fresh_date, mint_token,
                     new_user, scalar, sql, uhex, wait_until)
import fcgi_client
from isolated import isolated_stack

SEAT_AVAILABLE = ("(s.state = 0 OR (s.state = 1 AND s.hold_expires_at <= UTC_TIMESTAMP(3)))")
HERE = os.path.dirname(os.path.abspath(__file__))

_my_concerts = []


def new_concert(dates=(), seats=5, price=lambda n: 7000 + n):
    """A private concert (random id) with the given dates, `seats` seats each."""
    for _ in range(50):
        cid = random.randint(1000, 60000)
        n = scalar("INSERT IGNORE INTO concerts (id, title, venue) VALUES"
                   " (%d, 'test %d', 'test hall'); SELECT ROW_COUNT();" % (cid, cid))
        if n == "1":
            break
    else:
        raise AssertionError("no free concert id")
    _my_concerts.append(cid)
    for d in dates:
        sql("INSERT INTO concert_dates (concert_id, concert_date, title) VALUES"
            " (%d, '%s', 'test')" % (cid, d))
        if seats:
            sql("INSERT INTO seats (concert_id, concert_date, seat_number, price) VALUES "
                + ",".join("(%d, '%s', %d, %d)" % (cid, d, i, price(i))
                           for i in range(1, seats + 1)))
    return cid


@pytest.fixture(autouse=True, scope="module")
def _cleanup():
    yield
    # Holds and tokens go; sold seats and their confirmed reservations stay
    # (the invariants check them), so the concert rows stay too.
    for cid in _my_concerts:
        sql("DELETE FROM reservations WHERE concert_id = {c} AND state <> 1;"
            " UPDATE queue_tokens SET state = 2, live_user = NULL,"
            " expires_at = UTC_TIMESTAMP(3) WHERE concert_id = {c}"
            " AND state IN (0, 1);"
            " UPDATE seats SET state = 0, hold_user = NULL, hold_expires_at = NULL,"
            " reservation_id = NULL WHERE concert_id = {c} AND state = 1".format(c=cid))


def test_catalogue_lists_every_concert_with_dates_and_seats_left(web):
    d = fresh_date(seats=2)
    cid = new_concert([d], seats=4)
    r = api("GET", "/concerts", base=web)
    assert r.status == 200, r
    by_id = {c["id"]: c for c in r.json}
    assert {1, 2, 3, cid} <= set(by_id), sorted(by_id)
    assert [c["id"] for c in r.json] == sorted(by_id)
    for c in r.json:
        assert set(c) == {"id", "title", "venue", "onSaleAt", "dates"}, c
        title, venue = sql("SELECT title, venue FROM concerts WHERE id = %d" % c["id"])[0]
        assert (c["title"], c["venue"]) == (title, venue)
        want = [(dd, int(n)) for dd, n in sql(
            "SELECT d.concert_date, (SELECT COUNT(*) FROM seats s WHERE"
            " s.concert_id = d.concert_id AND s.concert_date = d.concert_date AND "
            + SEAT_AVAILABLE + ") FROM concert_dates d WHERE d.concert_id = %d"
            " AND d.concert_date >= UTC_DATE() ORDER BY 1" % c["id"])]
        assert [(x["date"], x["seatsLeft"]) for x in c["dates"]] == want, c
    assert by_id[cid]["dates"] == [{"date": d, "seatsLeft": 4}]
    # Three demo concerts, each on sale.
    assert all(by_id[i]["dates"] for i in (1, 2, 3)), r


def test_dates_and_seats_belong_to_their_concert(web):
    d = fresh_date(seats=2, price=lambda n: 1000)
    cid = new_concert([d], seats=3, price=lambda n: 5000 + n)
    r = api("GET", "/reservations/dates?concertId=%d" % cid, base=web)
    assert r.status == 200 and r.json == [d], r
    # The same day in the default concert: its own seats.
    r = api("GET", "/reservations/seats?date=" + d, base=web)
    assert r.status == 200 and [s["price"] for s in r.json] == [1000, 1000], r
    r = api("GET", "/reservations/seats?date=%s&concertId=%d" % (d, cid), base=web)
    assert r.status == 200, r
    assert r.json == [{"seatNumber": i, "available": True, "price": 5000 + i}
                      for i in (1, 2, 3)], r
    # JSON body on a GET, as the brief's clients send it.
    r = api("GET", "/reservations/seats", {"date": d, "concertId": cid}, base=web)
    assert r.status == 200 and len(r.json) == 3, r
    # concertId 1 is the default concert, spelled out.
    r = api("GET", "/reservations/seats?date=%s&concertId=1" % d, base=web)
    assert r.status == 200 and len(r.json) == 2, r


def test_unknown_concert_is_404_and_writes_nothing(web):
    u = new_user()
    r = api("POST", "/token", {"userId": u, "concertId": 65000}, base=web)
    assert_error(r, 404, "CONCERT_NOT_FOUND")
    assert scalar("SELECT COUNT(*) FROM users WHERE id = %s" % uhex(u)) == "0"
    assert scalar("SELECT COUNT(*) FROM queue_state WHERE id = 65000") == "0"
    assert_error(api("GET", "/reservations/dates?concertId=65000", base=web), 404,
                 "CONCERT_NOT_FOUND")
    d = fresh_date(seats=1)
    assert_error(api("GET", "/reservations/seats?date=%s&concertId=65000" % d, base=web),
                 404, "CONCERT_NOT_FOUND")
    # A known concert without that date is still DATE_NOT_FOUND.
    cid = new_concert([])
    assert_error(api("GET", "/reservations/seats?date=%s&concertId=%d" % (d, cid),
                     base=web), 404, "DATE_NOT_FOUND")


@pytest.mark.parametrize("value", ["abc", "0", "-1", "65536", "1.5", ""])
def test_bad_concert_id_in_the_query_is_400(web, value):
    r = api("GET", "/reservations/dates?concertId=" + value, base=web)
    err = assert_error(r, 400, "VALIDATION_ERROR")
    assert err.get("field") == "concertId", r


@pytest.mark.parametrize("value", ["2", 1.5, True, [2], {"id": 2}, 0, 70000])
def test_bad_concert_id_in_the_body_is_400(web, value):
    u = new_user()
    r = api("POST", "/token", {"userId": u, "concertId": value}, base=web)
    assert_error(r, 400, "VALIDATION_ERROR")
    assert scalar("SELECT COUNT(*) FROM users WHERE id = %s" % uhex(u)) == "0"


def test_one_live_token_per_user_per_concert(web):
    cid = new_concert([])
    u = new_user()
    a = api("POST", "/token", {"userId": u}, base=web)
    b = api("POST", "/token", {"userId": u, "concertId": cid}, base=web)
    assert a.status == 201 and b.status == 201, (a, b)
    assert a.json["token"] != b.json["token"]
    # Asking again in either line: the same token back.
    a2 = api("POST", "/token", {"userId": u, "concertId": 1}, base=web)
    b2 = api("POST", "/token", {"userId": u, "concertId": cid}, base=web)
    assert a2.status == 200 and a2.json["token"] == a.json["token"], a2
    assert b2.status == 200 and b2.json["token"] == b.json["token"], b2
    rows = sql("SELECT concert_id, LOWER(HEX(token)) FROM queue_tokens WHERE user_id = %s"
               " AND state IN (0, 1) ORDER BY concert_id" % uhex(u))
    assert rows == [("1", a.json["token"]), (str(cid), b.json["token"])], rows
    # The concert's token polls, and leaves, in its own line.
    r = api("GET", "/token?token=" + b.json["token"], base=web)
    assert r.status == 200 and r.json["token"] == b.json["token"], r
    r = api("DELETE", "/token", headers={"Authorization": "Bearer " + b.json["token"]},
            base=web)
    assert r.status == 200 and r.json["status"] == "EXPIRED", r
    assert api("GET", "/token?token=" + a.json["token"], base=web).json["status"] != "EXPIRED"


def test_each_concert_numbers_its_own_line(web):
    cid = new_concert([])
    toks = [api("POST", "/token", {"userId": new_user(), "concertId": cid}, base=web)
            for _ in range(3)]
    assert all(t.status == 201 for t in toks), toks
    seqs = [int(scalar("SELECT seq FROM queue_tokens WHERE token = UNHEX('%s')"
                       % t.json["token"])) for t in toks]
    assert seqs == [1, 2, 3], seqs       # dense, from 1, whatever concert 1's line holds
    assert scalar("SELECT next_seq FROM queue_seq WHERE id = %d" % cid) == "3"


def test_default_concert_tokens_keep_their_format(web):
    # Concert 1's tokens are the issue-10 layout: a client or script minting
    # them (scripts/bench) keeps working, and tokens issued before the
    # upgrade stay valid.
    t = api("POST", "/token", {"userId": new_user()}, base=web)
    assert t.status == 201, t
    seq = scalar("SELECT seq FROM queue_tokens WHERE token = UNHEX('%s')" % t.json["token"])
    assert mint_token(seq) == t.json["token"]


def test_a_token_holds_and_pays_only_in_its_own_concert(web):
    d = fresh_date(seats=2, price=lambda n: 1000)
    cid = new_concert([d], seats=2, price=lambda n: 3000)
    u = new_user()
    assert charge(u, 10000).status == 200
    tok = active_token(u, base=web)                       # concert 1
    api_c = api("POST", "/token", {"userId": u, "concertId": cid}, base=web)
    assert api_c.status == 201, api_c
    ctok = api_c.json["token"]
    wait_until(lambda: api("GET", "/token?token=" + ctok, base=web).json["status"]
               == "ACTIVE", 15, what="concert token admitted")
    # Concert 1's token on the other concert's seat, and the other way round.
    r = api("POST", "/reservations", {"date": d, "seatNumber": 1, "token": tok,
                                      "concertId": cid}, base=web)
    assert_error(r, 403, "TOKEN_WRONG_CONCERT")
    r = api("POST", "/reservations", {"date": d, "seatNumber": 1, "token": ctok}, base=web)
    assert_error(r, 403, "TOKEN_WRONG_CONCERT")
    assert scalar("SELECT COUNT(*) FROM seats WHERE concert_date = '%s' AND state <> 0"
                  % d) == "0"
    # In its own concert each works; the seat of one concert is not the other's.
    h1 = api("POST", "/reservations", {"date": d, "seatNumber": 1, "token": tok}, base=web)
    h2 = api("POST", "/reservations", {"date": d, "seatNumber": 1, "token": ctok,
                                       "concertId": cid}, base=web)
    assert h1.status == 201 and h1.json["concertId"] == 1 and h1.json["price"] == 1000, h1
    assert h2.status == 201 and h2.json["concertId"] == cid and h2.json["price"] == 3000, h2
    assert sql("SELECT concert_id, state FROM seats WHERE concert_date = '%s'"
               " AND seat_number = 1 ORDER BY concert_id" % d) == [("1", "1"), (str(cid), "1")]
    # Paying: a reservation of one concert with the other's token is refused.
    r = api("POST", "/payments", {"reservationId": h2.json["reservationId"],
                                  "amount": 3000, "token": tok}, base=web)
    assert_error(r, 403, "TOKEN_WRONG_CONCERT")
    assert scalar("SELECT balance FROM users WHERE id = %s" % uhex(u)) == "10000"
    r = api("POST", "/payments", {"reservationId": h2.json["reservationId"],
                                  "amount": 3000, "token": ctok}, base=web)
    assert r.status == 201 and r.json["balance"] == 7000, r
    # The last hold of that concert paid: its admission ended, not concert 1's.
    assert api("GET", "/token?token=" + ctok, base=web).json["status"] == "EXPIRED"
    assert api("GET", "/token?token=" + tok, base=web).json["status"] == "ACTIVE"
    r = api("POST", "/payments", {"reservationId": h1.json["reservationId"],
                                  "amount": 1000, "token": tok}, base=web)
    assert r.status == 201 and r.json["balance"] == 6000, r


# --------------------------------------------------------------- isolated stacks

def _issue(st, concert=None):
    body = {"userId": str(uuid.uuid4())}
    if concert is not None:
        body["concertId"] = concert
    status, b = st.post("/api/v1/token", body)
    assert status == 201, (status, b)
    return b


def _line(st, concert):
    """[(seq, state)] of concert's line, in seq order."""
    return [(int(a), b) for a, b in st.sql(
        "SELECT seq, state FROM queue_tokens WHERE concert_id = %d ORDER BY seq" % concert)]


def test_each_concert_is_admitted_to_its_own_cap_in_its_own_order():
    with isolated_stack(demo=True, max_active_tokens=1, active_ttl_seconds=600) as st:
        a = [_issue(st) for _ in range(3)]
        b = [_issue(st, 2) for _ in range(3)]
        # One admitted in each line (the cap is per concert), the first one.
        wait_until(lambda: _line(st, 1)[0][1] == "1" and _line(st, 2)[0][1] == "1", 15,
                   what="the head of both lines admitted")
        assert _line(st, 1) == [(1, "1"), (2, "0"), (3, "0")], _line(st, 1)
        assert _line(st, 2) == [(1, "1"), (2, "0"), (3, "0")], _line(st, 2)
        # Positions are per line.
        for toks in (a, b):
            status, body = st.get("/api/v1/token?token=" + toks[2]["token"])
            assert status == 200 and body["status"] == "WAITING", body
            assert body["queuePosition"] == 2, body
        # Concert 2's cap raised: two more of its line, in order; concert 1's stays.
        st.sql("UPDATE queue_state SET max_active_tokens = 3 WHERE id = 2")
        wait_until(lambda: [s for _, s in _line(st, 2)] == ["1", "1", "1"], 15,
                   what="concert 2 admitted to its new cap")
        assert [s for _, s in _line(st, 1)] == ["1", "0", "0"]
        assert st.scalar("SELECT max_active_tokens FROM queue_state WHERE id = 1") == "1"
        # One of concert 1's leaves: the next of concert 1 takes the place.
        status, body = st.request("DELETE", "/api/v1/token", token=a[0]["token"])
        assert status == 200 and body["status"] == "EXPIRED", body
        wait_until(lambda: [s for _, s in _line(st, 1)] == ["2", "1", "0"], 15,
                   what="concert 1's next admitted")


def test_waiting_polls_of_another_concert_need_no_database():
    with isolated_stack(demo=True, max_active_tokens=1, active_ttl_seconds=600) as st:
        _issue(st, 3)
        w = _issue(st, 3)
        wait_until(lambda: _line(st, 3)[0][1] == "1", 15, what="head admitted")
        for _ in range(3):
            status, body = st.get("/api/v1/token?token=" + w["token"])
            assert status == 200 and body["status"] == "WAITING", body
            assert body["queuePosition"] == 1, body
        # The counters of concert 3 answered (the polls counter moved);
        # /metrics straight from the workers' socket (not proxied).
        r = fcgi_client.request(st.sock, "GET", "/metrics", timeout=5)
        assert r.status == 200, r
        line = [x for x in r.body.decode().splitlines()
                if x.startswith("concert_queue_polls_shm_total ")]
        assert line and int(line[0].split()[1]) >= 3, line


# --------------------------------------------------------------- the upgrade

def _apply(db, path):
    with open(path) as fp:
        sql(None, database=db, stdin=fp.read())


def test_a_database_made_before_concerts_upgrades_to_the_default_concert():
    db = "concert_up%d" % random.randint(0, 10 ** 9)
    sql("CREATE DATABASE `%s`" % db, database="")
    try:
        _apply(db, os.path.join(HERE, "schema_before_concerts.sql"))
        sql("INSERT INTO concert_dates (concert_date) VALUES ('2090-01-02');"
            " INSERT INTO seats (concert_date, seat_number, price) VALUES"
            " ('2090-01-02', 1, 100), ('2090-01-02', 2, 100);"
            " INSERT INTO queue_tokens (token, user_id, live_user) VALUES"
            " (UNHEX(MD5('a')), UNHEX(MD5('u')), UNHEX(MD5('u'))),"
            " (UNHEX(MD5('b')), UNHEX(MD5('v')), UNHEX(MD5('v')));"
            " INSERT INTO reservations (id, user_id, concert_date, seat_number, price,"
            " expires_at) VALUES (UNHEX(MD5('r')), UNHEX(MD5('u')), '2090-01-02', 1, 100,"
            " UTC_TIMESTAMP())", database=db)
        new = os.path.join(ROOT, "sql", "schema.sql")
        _apply(db, new)
        _apply(db, new)              # every start applies it: a no-op the second time

        def q(query):
            return sql(query, database=db)
        assert q("SELECT id FROM concerts") == [("1",)]
        assert q("SELECT concert_id, COUNT(*) FROM seats GROUP BY 1") == [("1", "2")]
        assert q("SELECT concert_id, seq FROM queue_tokens ORDER BY seq") == \
            [("1", "1"), ("1", "2")]
        assert q("SELECT concert_id FROM reservations") == [("1",)]
        pk = q("SELECT TABLE_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)"
               " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '%s'"
               " AND INDEX_NAME = 'PRIMARY' AND TABLE_NAME IN ('seats', 'concert_dates',"
               " 'queue_tokens') GROUP BY 1 ORDER BY 1" % db)
        assert pk == [("concert_dates", "concert_id,concert_date"),
                      ("queue_tokens", "concert_id,seq"),
                      ("seats", "concert_id,concert_date,seat_number")], pk
        # The counter continues the old AUTO_INCREMENT line.
        assert q("SELECT next_seq FROM queue_seq WHERE id = 1") == [("2",)]
        q("INSERT INTO queue_tokens (token, user_id, live_user) VALUES"
          " (UNHEX(MD5('c')), UNHEX(MD5('w')), UNHEX(MD5('w')))")
        assert q("SELECT MAX(seq) FROM queue_tokens") == [("3",)]
        # One live token per user per concert: the old key is gone.
        q("INSERT INTO concerts (id) VALUES (2); INSERT INTO queue_tokens"
          " (concert_id, token, user_id, live_user) VALUES"
          " (2, UNHEX(MD5('d')), UNHEX(MD5('u')), UNHEX(MD5('u')))")
        assert q("SELECT concert_id, seq FROM queue_tokens WHERE token = UNHEX(MD5('d'))") \
            == [("2", "1")]
        # A fresh database has the same tables.
        def shape(d):
            return sql("SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE"
                       " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '%s'"
                       " ORDER BY 1, 2" % d, database="")
        fresh = db + "f"
        sql("CREATE DATABASE `%s`" % fresh, database="")
        try:
            _apply(fresh, new)
            assert shape(db) == shape(fresh)
        finally:
            sql("DROP DATABASE IF EXISTS `%s`" % fresh, database="")
    finally:
        sql("DROP DATABASE IF EXISTS `%s`" % db, database="")


# --------------------------------------------------------------- sections and grades (part 3)

def _stadium_date():
    """The demo stadium's 50,000-seat date."""
    d = scalar("SELECT concert_date FROM seats WHERE concert_id = 2 GROUP BY concert_date"
               " HAVING COUNT(*) = 50000 LIMIT 1")
    assert d, "no 50,000-seat date in the demo data"
    return d


def test_summary_counts_equal_a_count_over_the_seats(web):
    d = _stadium_date()
    r = api("GET", "/reservations/summary?date=%s&concertId=2" % d, base=web)
    assert r.status == 200, r
    want = [{"section": a, "grade": b, "seats": int(n), "free": int(f),
             "minPrice": int(lo), "maxPrice": int(hi)} for a, b, n, f, lo, hi in sql(
        "SELECT section, grade, COUNT(*), SUM(" + SEAT_AVAILABLE + "), MIN(price),"
        " MAX(price) FROM seats s WHERE concert_id = 2 AND concert_date = '%s'"
        " GROUP BY section, grade ORDER BY section, grade" % d)]
    assert r.json == want
    assert len(r.json) == 50 and sum(x["seats"] for x in r.json) == 50000
    # Grades carry their concert's prices.
    prices = dict(sql("SELECT grade, price FROM concert_grades WHERE concert_id = 2"))
    assert all(x["minPrice"] == x["maxPrice"] == int(prices[x["grade"]]) for x in r.json)
    assert {x["grade"] for x in r.json} == {"VIP", "R", "S", "A"}


def test_summary_follows_a_hold(web):
    d = fresh_date(seats=1)
    cid = new_concert([d], seats=0)
    sql("INSERT INTO concert_grades (concert_id, grade, price) VALUES (%d, 'VIP', 9000),"
        " (%d, 'R', 5000)" % (cid, cid))
    sql("INSERT INTO seats (concert_id, concert_date, seat_number, section, grade, price)"
        " VALUES (%d, '%s', 1, 'A', 'VIP', 9000), (%d, '%s', 2, 'A', 'R', 5000),"
        " (%d, '%s', 3, 'B', 'R', 5000)" % (cid, d, cid, d, cid, d))
    u = new_user()
    t = api("POST", "/token", {"userId": u, "concertId": cid}, base=web).json["token"]
    wait_until(lambda: api("GET", "/token?token=" + t, base=web).json["status"]
               == "ACTIVE", 15, what="admitted")
    h = api("POST", "/reservations", {"date": d, "seatNumber": 2, "token": t,
                                      "concertId": cid}, base=web)
    assert h.status == 201 and h.json["price"] == 5000, h
    r = api("GET", "/reservations/summary?date=%s&concertId=%d" % (d, cid), base=web)
    assert r.status == 200, r
    assert [(x["section"], x["grade"], x["seats"], x["free"]) for x in r.json] == \
        [("A", "R", 1, 0), ("A", "VIP", 1, 1), ("B", "R", 1, 1)], r
    # The seat map of one section, with sections and grades.
    r = api("GET", "/reservations/seats?date=%s&concertId=%d&section=A" % (d, cid), base=web)
    assert r.status == 200, r
    assert r.json == [
        {"seatNumber": 1, "available": True, "price": 9000, "section": "A", "grade": "VIP"},
        {"seatNumber": 2, "available": False, "price": 5000, "section": "A", "grade": "R"}], r
    r = api("GET", "/reservations/seats?date=%s&concertId=%d&section=Z" % (d, cid), base=web)
    assert r.status == 200 and r.json == [], r


def test_summary_and_section_validation(web):
    d = fresh_date(seats=1)
    assert_error(api("GET", "/reservations/summary?date=2099-13-01", base=web), 400,
                 "VALIDATION_ERROR")
    assert_error(api("GET", "/reservations/summary", base=web), 400, "MISSING_FIELD")
    assert_error(api("GET", "/reservations/summary?date=%s&concertId=65001" % d, base=web),
                 404, "CONCERT_NOT_FOUND")
    assert_error(api("GET", "/reservations/summary?date=2098-01-01", base=web), 404,
                 "DATE_NOT_FOUND")
    # The default concert's seats have no section or grade: one '' group.
    r = api("GET", "/reservations/summary?date=" + d, base=web)
    assert r.status == 200 and [(x["section"], x["grade"], x["seats"]) for x in r.json] == \
        [("", "", 1)], r
    for bad in ("a%20b", "x" * 17, "%27"):
        assert_error(api("GET", "/reservations/seats?date=%s&section=%s" % (d, bad),
                         base=web), 400, "VALIDATION_ERROR")
