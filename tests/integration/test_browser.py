"""The ticket window (web/) in a real browser: Debian's headless Chromium, driven by Selenium.

Through every front door of the stack (nginx, Apache mod_proxy_fcgi, Apache mod_fcgid):
  - the page's headers (CSP of the own origin only, long cache for versioned assets, no-store
    for the API);
  - a full purchase from the first click to the receipt (and the language switch);
  - a reload right after joining keeps the user and the token;
  - an insufficient balance shows the right message (in Korean: Accept-Language ko).
In isolated stacks (isolated.py, nginx):
  - a user behind a cap of 1 waits, keeps the place over a reload, and the page moves on by
    itself once the consumer admits the user;
  - a hold's countdown reaches zero and the page says the seat was released (hold_ttl 3 s).
Every browser test reads the browser's log: no console error other than the API's own error
answers (a 402 or 404 the page shows as a message). Screenshots of each screen are kept in
$CONCERT_STATE_DIR/screenshots/<front door>-<test>-<step>.png.

Nothing downloads a browser: Selenium is pointed at /usr/bin/chromium and /usr/bin/chromedriver
(scripts/install-deps installs chromium and chromium-driver, and the pinned selenium); Selenium
Manager never runs. A missing browser fails these tests, it does not skip them.
"""
import os
import re
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import helpers  # noqa: E402
from helpers import wait_until  # noqa: E402
from isolated import isolated_stack  # noqa: E402

CHROMIUM = os.environ.get("CONCERT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CONCERT_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = os.path.join(helpers.STATE, "screenshots")
WAIT = 20  # seconds for a screen to appear

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    SELENIUM_ERROR = None
except ImportError as e:  # reported as a failure by the fixture, not a skip
    SELENIUM_ERROR = e


def _door(url):
    for name, u in (("nginx", helpers.BASE_URL), ("apache", helpers.APACHE_URL),
                    ("fcgid", os.environ.get("CONCERT_TEST_FCGID_URL", "").rstrip("/"))):
        if u and url == u:
            return name
    return "isolated"


class Page:
    """One browser (a fresh profile: a new user) on one front door."""

    def __init__(self, base, test, lang="en-US", width=1024, height=900):
        if SELENIUM_ERROR is not None:
            pytest.fail("selenium is not installed (scripts/install-deps): %s" % SELENIUM_ERROR)
        for path in (CHROMIUM, CHROMEDRIVER):
            if not os.access(path, os.X_OK):
                pytest.fail("%s is missing: scripts/install-deps installs chromium and "
                            "chromium-driver" % path)
        os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager must not fetch
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                  "--no-first-run", "--disable-extensions", "--lang=" + lang,
                  "--window-size=%d,%d" % (width, height)):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=CHROMEDRIVER,
                          log_output=os.path.join(helpers.STATE, "chromedriver.log"))
        self.d = webdriver.Chrome(options=opts, service=service)
        self.d.set_page_load_timeout(30)
        self.base = base.rstrip("/")
        self.prefix = "%s-%s" % (_door(self.base), test)
        self.logs = []
        os.makedirs(SHOTS, exist_ok=True)

    def open(self):
        self.d.get(self.base + "/")
        self.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1",
                   "the page's script to start")

    def until(self, pred, what, timeout=WAIT):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(pred)
        except Exception:
            self.shot("timeout")
            raise AssertionError("browser: timed out waiting for %s (screen %s; status %r; error %r)"
                                 % (what, self.screen(), self.text("status"), self.text("error")))

    def screen(self):
        return self.d.find_element(By.TAG_NAME, "body").get_attribute("data-screen")

    def wait_screen(self, name, timeout=WAIT):
        self.until(lambda d: self.screen() == name, "screen %r" % name, timeout)

    def el(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def click(self, css):
        self.until(lambda d: d.find_element(By.CSS_SELECTOR, css).is_displayed(), css)
        for attempt in range(3):
            try:
                self.el(css).click()
                return
            except StaleElementReferenceException:  # re-rendered between find and click
                if attempt == 2:
                    raise

    def text(self, el_id):
        try:
            return self.d.find_element(By.ID, el_id).text
        except Exception:
            return None

    def shot(self, step):
        path = os.path.join(SHOTS, "%s-%s.png" % (self.prefix, step))
        self.d.save_screenshot(path)
        return path

    def user_id(self):
        return self.d.execute_script("return localStorage.getItem('concert.userId')")

    def console_errors(self):
        """SEVERE browser log entries, except the API's own error answers (the page turns
        those into messages; Chromium logs every 4xx/5xx a fetch receives)."""
        self.logs += self.d.get_log("browser")
        bad = []
        for e in self.logs:
            if e.get("level") != "SEVERE":
                continue
            msg = e.get("message", "")
            if e.get("source") == "network" and "/api/v1/" in msg and \
                    re.search(r"status of (402|404|409|422) ", msg):
                continue
            bad.append(e)
        return bad

    def close(self):
        try:
            self.d.quit()
        except Exception:
            pass


@pytest.fixture
def browser(request):
    pages = []

    def make(base, **kw):
        p = Page(base, request.node.originalname.replace("test_", "", 1), **kw)
        pages.append(p)
        return p
    yield make
    for p in pages:
        p.close()


@pytest.fixture
def dates():
    yield helpers.fresh_date
    helpers.cleanup_dates()


def _pick_seat(page, date, seat):
    """Pick the date, wait for its map; the CSS selector of the seat's button."""
    page.click('#dates button[data-date="%s"]' % date)
    css = '#seatmap[data-date="%s"] button[data-seat="%d"]' % (date, seat)
    page.until(lambda d: d.find_elements(By.CSS_SELECTOR, css), "seat %d on the map of %s" % (seat, date))
    b = page.el(css)
    assert "free" in b.get_attribute("class"), b.get_attribute("outerHTML")
    assert str(seat) in b.get_attribute("aria-label"), b.get_attribute("aria-label")
    return css


# ------------------------------------------------------------------ headers (no browser)

def test_page_headers(web):
    st, h, body = helpers.http_request(web, "GET", "/")
    assert st == 200, (st, body[:200])
    assert h["Content-Type"].startswith("text/html"), h["Content-Type"]
    csp = h.get("Content-Security-Policy") or ""
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and \
        "style-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert h.get("Cache-Control") == "no-cache", h.get("Cache-Control")
    html = body.decode()
    assets = re.findall(r'(?:src|href)="(app\.[0-9A-Za-z_-]+\.(?:js|css))"', html)
    assert len(assets) == 2, assets
    assert "<script>" not in html and " style=" not in html  # nothing inline (the CSP forbids it)
    for a in assets:
        st, h, _ = helpers.http_request(web, "GET", "/" + a)
        assert st == 200, a
        assert "max-age=31536000" in (h.get("Cache-Control") or ""), (a, h.get("Cache-Control"))
        assert h.get("X-Content-Type-Options") == "nosniff"
    st, h, _ = helpers.http_request(web, "GET", "/api/v1/ping")
    assert st == 200 and h.get("Cache-Control") == "no-store", h.get("Cache-Control")
    st, h, body = helpers.http_request(web, "GET", "/app.0.js")  # no such version
    assert st == 404 and h.get("Cache-Control") == "no-store", (st, h.get("Cache-Control"))


def test_every_error_code_has_a_message_in_both_languages():
    """Every error code docs/openapi.json names (and the web servers' own) has a message in
    English and in Korean in the page's script: a person never sees a bare code or status."""
    with open(os.path.join(helpers.ROOT, "docs", "openapi.json")) as f:
        spec = f.read()
    codes = set(re.findall(r'"([A-Z][A-Z_]{3,})"', spec)) | set(re.findall(r"codes: ([A-Z_, ]+)", spec))
    codes = {c.strip() for cs in codes for c in cs.split(",")} - {"WAITING", "ACTIVE", "EXPIRED", ""}
    # reservation and payment statuses (GET /reservations, GET /payments), not error codes
    codes -= {"HELD", "CONFIRMED", "RELEASED", "CANCELLED", "PAID", "REFUNDED"}
    codes |= {"COMMIT_UNKNOWN", "RATE_LIMITED", "UPSTREAM_UNAVAILABLE", "FORBIDDEN"}
    js = open(os.path.join(helpers.ROOT, "web", "app.2.js"), encoding="utf-8").read()
    en, ko = js.split("ko: {", 1)
    missing = sorted(c for c in codes if not (re.search(r"\b%s: '" % c, en) and re.search(r"\b%s: '" % c, ko)))
    assert not missing, missing


# ------------------------------------------------------------------ the stack's front doors

def test_purchase_from_first_click_to_receipt(web, browser, dates):
    date = dates(seats=10)
    page = browser(web)
    page.open()
    page.wait_screen("join")
    assert page.text("title") == "Concert tickets"
    page.click("#lang")                       # the switch overrides the browser's language
    page.until(lambda d: page.text("title") == "콘서트 예매", "the Korean title")
    assert page.d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ko"
    page.click("#lang")
    page.until(lambda d: page.text("title") == "Concert tickets", "the English title")
    page.shot("1-join")

    page.el("#join").send_keys("\n")          # keyboard: Enter on the focused button
    page.wait_screen("choose")
    page.shot("2-dates")
    seat = _pick_seat(page, date, 3)
    assert "free" in page.el(seat).get_attribute("aria-label")
    page.shot("3-seatmap")
    page.d.set_window_size(390, 844)          # a phone's width
    page.shot("3-seatmap-phone")
    page.d.set_window_size(1024, 900)
    page.click(seat)
    page.wait_screen("pay")
    assert page.text("pay-seat") == "3"
    assert re.match(r"^[0-5]:\d\d$", page.text("pay-countdown")), page.text("pay-countdown")
    page.until(lambda d: page.text("pay-balance") not in ("", "-"), "the balance")
    # What is missing for this seat is suggested.
    assert page.el("#topup-amount").get_attribute("value") == "3000"
    page.el("#topup-amount").clear()
    page.el("#topup-amount").send_keys("3000")
    page.click("#topup")
    page.until(lambda d: "3,000" in page.text("pay-balance"), "the balance after the top-up")
    page.shot("4-pay")
    page.click("#pay")
    page.wait_screen("receipt")
    page.shot("5-receipt")
    pid = page.text("receipt-payment")
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", pid), pid
    user = page.user_id()
    assert helpers.scalar("SELECT COUNT(*) FROM payments WHERE id = %s" % helpers.uhex(pid)) == "1"
    assert helpers.balance_of(user) == 0
    r = helpers.api("GET", "/reservations/seats?date=" + date)
    assert [s["available"] for s in r.json if s["seatNumber"] == 3] == [False]
    assert page.console_errors() == []


def test_reload_keeps_user_and_token(web, browser):
    page = browser(web)
    page.open()
    page.click("#join")
    page.until(lambda d: page.screen() in ("wait", "choose"), "the waiting room or the seats")
    user = page.user_id()
    assert user
    tokens = lambda: helpers.sql("SELECT LOWER(HEX(token)) FROM queue_tokens WHERE user_id = %s"
                                 % helpers.uhex(user))
    wait_until(lambda: len(tokens()) == 1, 10, what="the page's token")
    before = tokens()
    page.d.refresh()
    page.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1",
               "the reloaded page")
    page.wait_screen("choose")
    page.shot("reloaded")
    assert page.user_id() == user
    assert tokens() == before                 # the same token: the same place
    assert page.console_errors() == []


def test_insufficient_balance_is_explained_in_korean(web, browser, dates):
    date = dates(seats=5, price=lambda n: 50000)
    page = browser(web, lang="ko-KR")         # Accept-Language picks Korean
    page.open()
    page.wait_screen("join")
    assert page.text("title") == "콘서트 예매"
    page.click("#join")
    page.wait_screen("choose")
    seat = _pick_seat(page, date, 2)
    assert "선택 가능" in page.el(seat).get_attribute("aria-label")   # "free", in Korean
    page.click(seat)
    page.wait_screen("pay")
    page.until(lambda d: page.text("pay-balance") not in ("", "-"), "the balance")
    page.el("#topup-amount").clear()
    page.el("#topup-amount").send_keys("100")
    page.click("#topup")
    page.until(lambda d: "100" in page.text("pay-balance"), "the balance after the top-up")
    page.click("#pay")
    page.until(lambda d: "잔액이 부족합니다" in (page.text("error") or ""), "the insufficient-balance message")
    page.shot("insufficient")
    assert page.screen() == "pay"
    assert page.el("#pay").is_enabled()       # top up and try again
    assert "402" not in page.text("error")    # a message, never a raw status
    assert page.console_errors() == []


# ------------------------------------------------------------------ isolated stacks

def test_waiting_behind_cap_then_admitted(browser):
    with isolated_stack(demo=True, max_active_tokens=1, active_ttl_seconds=600) as st:
        status, first = st.post("/api/v1/token", {"userId": str(uuid.uuid4())})
        assert status == 201, first
        wait_until(lambda: st.get("/api/v1/token", token=first["token"])[1]["status"] == "ACTIVE",
                   15, what="the first user admitted")
        page = browser(st.url)
        page.open()
        page.click("#join")
        page.wait_screen("wait")
        page.until(lambda d: page.text("wait-position") == "1", "place 1 in line")
        page.shot("1-waiting")
        user = page.user_id()
        page.d.refresh()                      # a reload in the waiting room keeps the place
        page.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1",
                   "the reloaded page")
        page.wait_screen("wait")
        page.until(lambda d: page.text("wait-position") == "1", "place 1 after the reload")
        assert page.user_id() == user
        assert st.scalar("SELECT COUNT(*) FROM queue_tokens WHERE user_id = %s"
                         % helpers.uhex(user)) == "1"
        page.shot("2-waiting-reloaded")
        # The first user leaves: the consumer admits the next, the page moves on by itself.
        status, _ = st.request("DELETE", "/api/v1/token", token=first["token"])
        assert status == 200
        page.wait_screen("choose", timeout=30)
        page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#seatmap button"), "the seat map")
        page.shot("3-admitted")
        assert page.console_errors() == []


def test_hold_countdown_reaches_zero_and_seat_is_released(browser):
    with isolated_stack(demo=True, max_active_tokens=5, hold_ttl_seconds=3,
                        active_ttl_seconds=600) as st:
        page = browser(st.url)
        page.open()
        page.click("#join")
        page.wait_screen("choose")
        page.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#seatmap button.free"), "a free seat")
        seat = int(page.el("#seatmap button.free").get_attribute("data-seat"))
        page.click('#seatmap button[data-seat="%d"]' % seat)
        page.wait_screen("pay")
        page.shot("1-held")
        t0 = time.monotonic()
        page.until(lambda d: "released" in (page.text("error") or ""), "the released message", 15)
        assert time.monotonic() - t0 < 8
        assert page.text("pay-countdown") == "0:00"
        assert not page.el("#pay").is_enabled()
        page.shot("2-released")
        date = page.text("pay-date")
        assert date
        # The server agrees: the seat is free again.
        d = st.sql("SELECT MIN(concert_date) FROM seats WHERE concert_date > UTC_DATE()")[0][0]
        wait_until(lambda: [s["available"] for s in st.get("/api/v1/reservations/seats?date=" + d)[1]
                            if s["seatNumber"] == seat] == [True], 10, what="seat released")
        page.click("#back-to-seats")
        page.wait_screen("choose")
        # A new hold can be paid again (the button is back).
        page.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#seatmap button[data-seat="%d"].free'
                                             % seat), "seat %d free on the map" % seat)
        page.click('#seatmap button[data-seat="%d"]' % seat)
        page.wait_screen("pay")
        assert page.el("#pay").is_enabled()
        assert page.console_errors() == []
