// The ticket window: join the line, wait, choose a seat, pay, receipt.
// Plain JavaScript, no build step, no framework (five screens); same-origin API under /api/v1/.
// Versioned file name (app.<version>.js): the web servers cache it for a year, so a change to
// this file needs a new name and the new name in index.html.
(function () {
  'use strict';

  var API = '/api/v1';
  var KEY = { user: 'concert.userId', joined: 'concert.joined', lang: 'concert.lang', first: 'concert.firstPosition' };

  // ------------------------------------------------------------------ texts
  var TEXT = {
    en: {
      title: 'Concert tickets', other: '한국어', otherLang: 'ko',
      joinHeading: 'Join the line',
      joinText: 'Tickets are sold in the order people join. Press the button once; you keep your place if you reload this page.',
      joinButton: 'Join the line', joining: 'Joining the line…',
      waitHeading: 'You are in the waiting room', position: 'Your place in line', estimate: 'Estimated wait',
      movement: 'Moved in the last minute', progress: 'Progress',
      waitHint: 'This page moves on by itself when it is your turn. Keep it open.', leave: 'Leave the line',
      waitStatus: 'You are number {0} in line.',
      places: '{0} places', seconds: 'about {0}', nowSoon: 'any moment now',
      lapsedHeading: 'Your turn has ended',
      lapsedText: 'Your admission lapsed before a ticket was bought. You can join the line again.',
      rejoin: 'Join again', left: 'You left the line.',
      admitted: 'It is your turn. Choose a date and a seat.',
      chooseHeading: 'Choose a date and a seat', dates: 'Dates', noDates: 'No dates with free seats are on sale.',
      seatsFor: 'Seats on {0}', free: 'free', taken: 'sold or held',
      seatFree: 'Seat {0}, {1}, free', seatTaken: 'Seat {0}, {1}, sold or held',
      turnLeft: 'Your turn lasts another {0}.',
      holding: 'Holding seat {0}…',
      payHeading: 'Pay for your seat', date: 'Date', seat: 'Seat', price: 'Price', heldFor: 'Held for',
      balance: 'Your balance', topupLabel: 'Top up (KRW)', topupButton: 'Top up', payButton: 'Pay',
      otherSeat: 'Choose another seat', held: 'Seat {0} is held for you for {1}. Pay before the time runs out.',
      toppedUp: 'Your balance is now {0}.', paying: 'Paying…',
      released: 'Your hold on seat {0} expired and the seat was released. Choose a seat again.',
      receiptHeading: 'Your ticket', paymentId: 'Payment number', paid: 'Paid', balanceAfter: 'Balance left',
      another: 'Buy another ticket', bought: 'Payment complete. Seat {0} on {1} is yours.',
      offline: 'The ticket server cannot be reached. Trying again in {0} seconds.',
      unknownError: 'Something went wrong ({0}). Please try again.',
      errors: {
        ALREADY_PAID: 'This seat is already paid for.',
        AMOUNT_MISMATCH: 'The amount does not match the price of the seat. Reload the page and try again.',
        BAD_REQUEST: 'The request was not understood. Reload the page and try again.',
        BALANCE_LIMIT_EXCEEDED: 'That top-up would take your balance over the limit.',
        COMMIT_UNKNOWN: 'We could not confirm whether that went through. Check your balance, then try again.',
        CONCERT_PASSED: 'This concert has already taken place.',
        CONTENDED: 'Many people are trying at once. Please try again.',
        DATE_NOT_FOUND: 'There is no concert on that date.',
        CONCERT_NOT_FOUND: 'There is no such concert.',
        TOKEN_WRONG_CONCERT: 'Your queue ticket is for another concert. Join this concert\'s queue.',
        DB_UNAVAILABLE: 'The ticket system is busy. Please try again shortly.',
        HOLD_LIMIT_REACHED: 'You already hold as many seats as allowed. Pay for them or let them expire first.',
        IDEMPOTENCY_IN_PROGRESS: 'Your previous request is still being processed. Please wait a moment.',
        IDEMPOTENCY_KEY_REUSED: 'This request was already sent with different details. Reload the page.',
        INSUFFICIENT_BALANCE: 'Your balance is too low for this seat. Top up and pay again.',
        INTERNAL: 'The ticket system had a problem. Please try again.',
        INVALID_AMOUNT: 'Enter an amount between 1 and the allowed maximum.',
        INVALID_IDEMPOTENCY_KEY: 'The request could not be sent safely. Reload the page.',
        INVALID_JSON: 'The request was not understood. Reload the page and try again.',
        METHOD_NOT_ALLOWED: 'The request was not understood. Reload the page and try again.',
        MISSING_FIELD: 'Some information is missing. Reload the page and try again.',
        NOT_FOUND: 'That was not found.',
        NOT_RESERVATION_OWNER: 'This hold belongs to someone else.',
        PAYLOAD_TOO_LARGE: 'The request was too large.',
        RATE_LIMITED: 'Too many attempts from your connection. Please wait a moment.',
        REFUND_CLOSED: 'Refunds have closed for this concert; the ticket can no longer be cancelled.',
        RESERVATION_CANCELLED: 'This reservation was cancelled and refunded.',
        RESERVATION_EXPIRED: 'Your hold expired and the seat was released. Choose a seat again.',
        RESERVATION_NOT_PAID: 'Only a paid ticket can be cancelled; release an unpaid hold instead.',
        RESERVATION_NOT_FOUND: 'Your hold was not found; it may have expired. Choose a seat again.',
        SEAT_NOT_FOUND: 'That seat does not exist.',
        SEAT_UNAVAILABLE: 'Sorry, that seat was just taken. Choose another one.',
        TOKEN_EXPIRED: 'Your turn has ended. Join the line again.',
        TOKEN_INVALID: 'Your place in line is not valid any more. Join the line again.',
        TOKEN_IN_QUERY: 'The page sent your queue token the wrong way. Reload the page.',
        AUTH_REQUIRED: 'Please sign in to continue.',
        AUTH_INVALID: 'Your sign-in is not valid any more. Please sign in again.',
        USER_MISMATCH: 'This request belongs to another account than the one signed in.',
        TOKEN_NOT_ACTIVE: 'It is not your turn yet. You are number {position} in line.',
        TOKEN_NOT_FOUND: 'Your place in line was not found. Join the line again.',
        TOKEN_REQUIRED: 'Join the line first.',
        UNSUPPORTED_MEDIA_TYPE: 'The request was not understood. Reload the page and try again.',
        UPSTREAM_UNAVAILABLE: 'The ticket server is not reachable right now. Please try again shortly.',
        FORBIDDEN: 'That is not allowed.',
        USER_NOT_FOUND: 'No balance yet: top up first.',
        VALIDATION_ERROR: 'Some information is not valid. Check it and try again.'
      }
    },
    ko: {
      title: '콘서트 예매', other: 'English', otherLang: 'en',
      joinHeading: '대기열 참여',
      joinText: '티켓은 대기열에 들어온 순서대로 판매됩니다. 버튼을 한 번만 누르세요. 페이지를 새로 고쳐도 순서는 유지됩니다.',
      joinButton: '대기열 참여', joining: '대기열에 참여하는 중…',
      waitHeading: '대기실에 있습니다', position: '내 대기 순번', estimate: '예상 대기 시간',
      movement: '최근 1분 동안 줄어든 순번', progress: '진행 상황',
      waitHint: '차례가 되면 페이지가 자동으로 넘어갑니다. 이 페이지를 닫지 마세요.', leave: '대기열 나가기',
      waitStatus: '현재 대기 순번은 {0}번입니다.',
      places: '{0}명', seconds: '약 {0}', nowSoon: '곧 입장합니다',
      lapsedHeading: '입장 시간이 끝났습니다',
      lapsedText: '티켓을 구매하기 전에 입장 시간이 지났습니다. 대기열에 다시 참여할 수 있습니다.',
      rejoin: '다시 참여', left: '대기열에서 나왔습니다.',
      admitted: '차례가 되었습니다. 날짜와 좌석을 선택하세요.',
      chooseHeading: '날짜와 좌석 선택', dates: '공연 날짜', noDates: '판매 중인 좌석이 있는 날짜가 없습니다.',
      seatsFor: '{0} 좌석', free: '선택 가능', taken: '판매 또는 선점됨',
      seatFree: '{0}번 좌석, {1}, 선택 가능', seatTaken: '{0}번 좌석, {1}, 판매 또는 선점됨',
      turnLeft: '입장 시간이 {0} 남았습니다.',
      holding: '{0}번 좌석을 선점하는 중…',
      payHeading: '좌석 결제', date: '날짜', seat: '좌석', price: '가격', heldFor: '선점 남은 시간',
      balance: '내 잔액', topupLabel: '충전 금액 (원)', topupButton: '충전', payButton: '결제',
      otherSeat: '다른 좌석 선택', held: '{0}번 좌석이 {1} 동안 선점되었습니다. 시간이 끝나기 전에 결제하세요.',
      toppedUp: '잔액이 {0}이 되었습니다.', paying: '결제하는 중…',
      released: '{0}번 좌석의 선점 시간이 끝나 좌석이 해제되었습니다. 좌석을 다시 선택하세요.',
      receiptHeading: '예매 완료', paymentId: '결제 번호', paid: '결제 금액', balanceAfter: '남은 잔액',
      another: '다른 티켓 구매', bought: '결제가 완료되었습니다. {1} {0}번 좌석이 예매되었습니다.',
      offline: '예매 서버에 연결할 수 없습니다. {0}초 후에 다시 시도합니다.',
      unknownError: '문제가 발생했습니다 ({0}). 다시 시도해 주세요.',
      errors: {
        ALREADY_PAID: '이미 결제된 좌석입니다.',
        AMOUNT_MISMATCH: '결제 금액이 좌석 가격과 다릅니다. 페이지를 새로 고친 뒤 다시 시도하세요.',
        BAD_REQUEST: '요청을 처리할 수 없습니다. 페이지를 새로 고친 뒤 다시 시도하세요.',
        BALANCE_LIMIT_EXCEEDED: '충전하면 잔액 한도를 넘습니다.',
        COMMIT_UNKNOWN: '처리되었는지 확인하지 못했습니다. 잔액을 확인한 뒤 다시 시도하세요.',
        CONCERT_PASSED: '이미 지난 공연입니다.',
        CONTENDED: '동시에 많은 요청이 몰리고 있습니다. 다시 시도해 주세요.',
        DATE_NOT_FOUND: '해당 날짜에는 공연이 없습니다.',
        CONCERT_NOT_FOUND: '해당 공연이 없습니다.',
        TOKEN_WRONG_CONCERT: '다른 공연의 대기열 토큰입니다. 이 공연의 대기열에 참여해 주세요.',
        DB_UNAVAILABLE: '예매 시스템이 혼잡합니다. 잠시 후 다시 시도해 주세요.',
        HOLD_LIMIT_REACHED: '선점할 수 있는 좌석 수를 모두 사용했습니다. 먼저 결제하거나 선점이 끝나기를 기다리세요.',
        IDEMPOTENCY_IN_PROGRESS: '이전 요청을 아직 처리하고 있습니다. 잠시 기다려 주세요.',
        IDEMPOTENCY_KEY_REUSED: '이미 다른 내용으로 보낸 요청입니다. 페이지를 새로 고치세요.',
        INSUFFICIENT_BALANCE: '잔액이 부족합니다. 충전한 뒤 다시 결제하세요.',
        INTERNAL: '예매 시스템에 문제가 발생했습니다. 다시 시도해 주세요.',
        INVALID_AMOUNT: '1 이상 허용된 최대 금액 이하로 입력하세요.',
        INVALID_IDEMPOTENCY_KEY: '요청을 안전하게 보낼 수 없습니다. 페이지를 새로 고치세요.',
        INVALID_JSON: '요청을 처리할 수 없습니다. 페이지를 새로 고친 뒤 다시 시도하세요.',
        METHOD_NOT_ALLOWED: '요청을 처리할 수 없습니다. 페이지를 새로 고친 뒤 다시 시도하세요.',
        MISSING_FIELD: '필요한 정보가 빠졌습니다. 페이지를 새로 고친 뒤 다시 시도하세요.',
        NOT_FOUND: '찾을 수 없습니다.',
        NOT_RESERVATION_OWNER: '다른 사람이 선점한 좌석입니다.',
        PAYLOAD_TOO_LARGE: '요청이 너무 큽니다.',
        RATE_LIMITED: '요청이 너무 많습니다. 잠시 기다려 주세요.',
        REFUND_CLOSED: '이 공연은 환불 기간이 끝나 예매를 취소할 수 없습니다.',
        RESERVATION_CANCELLED: '취소되어 환불된 예매입니다.',
        RESERVATION_EXPIRED: '선점 시간이 끝나 좌석이 해제되었습니다. 좌석을 다시 선택하세요.',
        RESERVATION_NOT_PAID: '결제한 예매만 취소할 수 있습니다. 결제 전 선점은 해제하세요.',
        RESERVATION_NOT_FOUND: '선점 내역을 찾을 수 없습니다. 시간이 끝났을 수 있습니다. 좌석을 다시 선택하세요.',
        SEAT_NOT_FOUND: '없는 좌석입니다.',
        SEAT_UNAVAILABLE: '죄송합니다. 방금 다른 분이 선택한 좌석입니다. 다른 좌석을 선택하세요.',
        TOKEN_EXPIRED: '입장 시간이 끝났습니다. 대기열에 다시 참여하세요.',
        TOKEN_INVALID: '대기 순번이 더 이상 유효하지 않습니다. 대기열에 다시 참여하세요.',
        TOKEN_IN_QUERY: '페이지가 대기 토큰을 잘못된 방식으로 보냈습니다. 페이지를 새로 고치세요.',
        AUTH_REQUIRED: '계속하려면 로그인하세요.',
        AUTH_INVALID: '로그인 정보가 더 이상 유효하지 않습니다. 다시 로그인하세요.',
        USER_MISMATCH: '이 요청은 로그인한 계정이 아닌 다른 계정의 것입니다.',
        TOKEN_NOT_ACTIVE: '아직 차례가 아닙니다. 현재 대기 순번은 {position}번입니다.',
        TOKEN_NOT_FOUND: '대기 순번을 찾을 수 없습니다. 대기열에 다시 참여하세요.',
        TOKEN_REQUIRED: '먼저 대기열에 참여하세요.',
        UNSUPPORTED_MEDIA_TYPE: '요청을 처리할 수 없습니다. 페이지를 새로 고친 뒤 다시 시도하세요.',
        UPSTREAM_UNAVAILABLE: '지금은 예매 서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.',
        FORBIDDEN: '허용되지 않은 요청입니다.',
        USER_NOT_FOUND: '아직 잔액이 없습니다. 먼저 충전하세요.',
        VALIDATION_ERROR: '입력한 정보가 올바르지 않습니다. 확인한 뒤 다시 시도하세요.'
      }
    }
  };

  // ------------------------------------------------------------------ helpers
  function $(id) { return document.getElementById(id); }
  function store(k, v) { try { if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  function load(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }

  function uuid() { // RFC 4122 v4; getRandomValues works outside secure contexts too
    var b = new Uint8Array(16), h = [], i;
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    for (i = 0; i < 16; i++) h.push((b[i] + 0x100).toString(16).slice(1));
    return h.slice(0, 4).join('') + '-' + h.slice(4, 6).join('') + '-' + h.slice(6, 8).join('') + '-' +
      h.slice(8, 10).join('') + '-' + h.slice(10).join('');
  }

  var S = {
    lang: 'en', userId: null, token: null, screen: 'join', skewMs: 0,
    timers: {}, history: [], errors: 0, dates: [], date: null, seats: null,
    hold: null, payKey: null, activeUntil: null, busy: false
  };

  function pickLang() {
    var saved = load(KEY.lang), langs = navigator.languages || [navigator.language || 'en'], i;
    if (saved === 'ko' || saved === 'en') return saved;
    for (i = 0; i < langs.length; i++) {
      var l = String(langs[i]).toLowerCase();
      if (l.indexOf('ko') === 0) return 'ko';
      if (l.indexOf('en') === 0) return 'en';
    }
    return 'en';
  }

  function t(key) {
    var s = TEXT[S.lang][key], args = arguments;
    if (s === undefined) s = TEXT.en[key];
    return String(s).replace(/\{(\d)\}/g, function (m, n) { return args[+n + 1]; });
  }
  function won(n) {
    return new Intl.NumberFormat(S.lang === 'ko' ? 'ko-KR' : 'en-US', { style: 'currency', currency: 'KRW' }).format(n);
  }
  function wonShort(n) { // 150K / 15만: fits a seat on a phone
    return new Intl.NumberFormat(S.lang === 'ko' ? 'ko-KR' : 'en-US', { notation: 'compact' }).format(n);
  }
  function day(iso) { // YYYY-MM-DD as a calendar date, never shifted by the time zone
    var p = iso.split('-');
    return new Intl.DateTimeFormat(S.lang === 'ko' ? 'ko-KR' : 'en-GB',
      { weekday: 'short', year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' })
      .format(new Date(Date.UTC(+p[0], +p[1] - 1, +p[2])));
  }
  function duration(sec) {
    sec = Math.max(0, Math.ceil(sec));
    var m = Math.floor(sec / 60), s = sec % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  }
  function serverNow() { return Date.now() + S.skewMs; }

  function clearTimer(name) { if (S.timers[name]) { clearTimeout(S.timers[name]); S.timers[name] = null; } }
  function later(name, ms, fn) { clearTimer(name); S.timers[name] = setTimeout(fn, ms); }
  function jitter(ms) { return Math.round(ms * (0.9 + Math.random() * 0.2)); }

  // ------------------------------------------------------------------ the API
  // Every answer: {status, body, retryAfter}; body is the parsed JSON (null when none). The
  // Date header corrects the clock skew (countdowns follow the server's clock).
  function api(method, path, body, opts) {
    opts = opts || {};
    var headers = { Accept: 'application/json' }, t0 = Date.now();
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.token) headers.Authorization = 'Bearer ' + opts.token;
    if (opts.idem) headers['Idempotency-Key'] = opts.idem;
    return fetch(API + path, {
      method: method, headers: headers, cache: 'no-store', credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      var d = r.headers.get('Date'), ra = r.headers.get('Retry-After');
      if (d && !isNaN(Date.parse(d))) S.skewMs = Date.parse(d) + 500 - (t0 + Date.now()) / 2;
      return r.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        return { status: r.status, body: json, retryAfter: ra && /^\d+$/.test(ra) ? +ra : null };
      });
    });
  }
  function errCode(res) {
    return res && res.body && res.body.error && res.body.error.code ? res.body.error.code : null;
  }
  function errText(res) {
    var code = errCode(res), s;
    if (!code) return t('unknownError', res && res.status ? 'HTTP ' + res.status : 'network');
    s = TEXT[S.lang].errors[code];
    if (!s) return t('unknownError', code);
    return s.replace('{position}', res.body.error.queuePosition || '?');
  }

  // ------------------------------------------------------------------ screens and messages
  var SCREENS = ['join', 'wait', 'lapsed', 'choose', 'pay', 'receipt'];
  function show(name) {
    S.screen = name;
    SCREENS.forEach(function (n) { $('screen-' + n).hidden = n !== name; });
    document.body.setAttribute('data-screen', name);
    var h = $('screen-' + name).querySelector('h2');
    if (h) { h.setAttribute('tabindex', '-1'); h.focus({ preventScroll: false }); }
  }
  function say(text) { $('status').textContent = text || ''; }
  function fail(text) {
    var e = $('error');
    e.textContent = text || '';
    e.hidden = !text;
  }

  function applyTexts() {
    document.documentElement.lang = S.lang;
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (el) {
      el.textContent = t(el.getAttribute('data-i18n'));
    });
    var b = $('lang');
    b.textContent = t('other');
    b.setAttribute('lang', t('otherLang'));
    renderWait(); renderDates(); renderSeats(); renderPay();
  }

  // ------------------------------------------------------------------ join and wait
  function join() {
    if (S.busy) return;
    S.busy = true;
    fail('');
    say(t('joining'));
    if (!S.userId) { S.userId = uuid(); store(KEY.user, S.userId); }
    store(KEY.joined, '1');
    api('POST', '/token', { userId: S.userId }).then(function (res) {
      S.busy = false;
      if (res.status === 200 || res.status === 201) { onToken(res); return; }
      retryLater(res, join);
    }, function () { S.busy = false; retryLater(null, join); });
  }

  // Errors: back off (1, 2, 4 … 30 s), or as long as the server's Retry-After says.
  function retryLater(res, fn) {
    S.errors++;
    var sec = res && res.retryAfter ? res.retryAfter : Math.min(30, Math.pow(2, S.errors - 1));
    if (res && res.body && res.body.error) fail(errText(res) + ' ' + t('offline', sec).replace(/^[^.]*\.\s*/, ''));
    else fail(t('offline', sec));
    later('poll', jitter(sec * 1000), fn);
  }

  function onToken(res) {
    var b = res.body;
    S.errors = 0;
    fail('');
    if (S.token !== b.token) { S.token = b.token; S.history = []; }
    if (b.status === 'WAITING') {
      var first = +load(KEY.first + '.' + b.token) || 0;
      if (b.queuePosition > first) { first = b.queuePosition; store(KEY.first + '.' + b.token, String(first)); }
      S.wait = { position: b.queuePosition, eta: b.remainingTime, first: first, admitted: b.admittedRecently };
      S.history.push([Date.now(), b.queuePosition]);
      while (S.history.length > 2 && Date.now() - S.history[1][0] > 60000) S.history.shift();
      if (S.screen !== 'wait') show('wait');
      renderWait();
      say(t('waitStatus', b.queuePosition));
      later('poll', pollDelay(res), poll);
    } else if (b.status === 'ACTIVE') {
      S.activeUntil = serverNow() + b.remainingTime * 1000;
      if (S.screen === 'join' || S.screen === 'wait' || S.screen === 'lapsed') {
        show('choose');
        say(t('admitted'));
        loadDates();
      }
      later('poll', Math.min(15000, Math.max(1000, b.remainingTime * 1000)), poll);
    } else {
      lapsed();
    }
  }

  // As the server says (pollAfterSeconds in the body, else Retry-After), else a bounded
  // interval from the position: 1 s near the front, up to 10 s far back.
  function pollDelay(res) {
    var b = res.body || {}, sec = null, p = b.queuePosition || 1;
    if (typeof b.pollAfterSeconds === 'number' && b.pollAfterSeconds >= 0) sec = b.pollAfterSeconds;
    else if (res.retryAfter !== null) sec = res.retryAfter;
    if (sec !== null) return Math.min(300, Math.max(0.5, sec)) * 1000;
    sec = p <= 5 ? 1 : p <= 50 ? 2 : p <= 500 ? 5 : 10;
    return jitter(sec * 1000);
  }

  function poll() {
    if (!S.token) return;
    api('GET', '/token', undefined, { token: S.token }).then(function (res) {
      if (res.status === 200) { onToken(res); return; }
      var c = errCode(res);
      if (c === 'TOKEN_NOT_FOUND' || c === 'TOKEN_EXPIRED' || c === 'TOKEN_INVALID') { lapsed(); return; }
      retryLater(res, poll);
    }, function () { retryLater(null, poll); });
  }

  function lapsed() {
    clearTimer('poll'); clearTimer('seats'); clearTimer('countdown');
    S.token = null; S.activeUntil = null;
    if (S.screen === 'receipt') return; // bought: the end of the turn changes nothing
    store(KEY.joined, null);
    show('lapsed');
    say(t('lapsedHeading'));
  }

  function leave() {
    var tok = S.token;
    clearTimer('poll');
    store(KEY.joined, null);
    S.token = null;
    show('join');
    say(t('left'));
    if (tok) api('DELETE', '/token', undefined, { token: tok }).then(null, function () {});
  }

  function renderWait() {
    var w = S.wait;
    if (!w) return;
    $('wait-position').textContent = String(w.position);
    $('wait-eta').textContent = w.eta > 0 ? t('seconds', duration(w.eta)) : t('nowSoon');
    var moved = typeof w.admitted === 'number' ? w.admitted
      : (S.history.length ? Math.max(0, S.history[0][1] - w.position) : 0);
    $('wait-moved').textContent = t('places', moved);
    var pr = $('wait-progress');
    pr.value = w.first > 0 ? Math.round(100 * (w.first - w.position) / w.first) : 0; // share of the way to the front
    pr.setAttribute('aria-valuetext', t('waitStatus', w.position));
  }

  // ------------------------------------------------------------------ choose
  function loadDates() {
    api('GET', '/reservations/dates').then(function (res) {
      if (res.status !== 200 || !Array.isArray(res.body)) { fail(errText(res)); return; }
      S.dates = res.body;
      renderDates();
      if (S.dates.length && (!S.date || S.dates.indexOf(S.date) < 0)) pickDate(S.dates[0], false);
      else if (S.date) loadSeats();
    }, function () { fail(t('offline', 5)); later('seats', 5000, loadDates); });
  }

  function renderDates() {
    var box = $('dates');
    if (!box) return;
    box.textContent = '';
    if (!S.dates.length) { var p = document.createElement('p'); p.textContent = t('noDates'); box.appendChild(p); return; }
    S.dates.forEach(function (d) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'date';
      b.textContent = day(d);
      b.setAttribute('data-date', d);
      b.setAttribute('aria-pressed', d === S.date ? 'true' : 'false');
      b.addEventListener('click', function () { pickDate(d, true); });
      box.appendChild(b);
      if (d === S.date && box.scrollWidth > box.clientWidth) box.scrollLeft = b.offsetLeft - box.offsetLeft;
    });
  }

  function pickDate(d, focusMap) {
    S.date = d;
    S.seats = null;
    renderDates();
    loadSeats(focusMap);
  }

  // The seat map is refreshed every 5 s while it is open.
  function loadSeats(focusMap) {
    var d = S.date;
    clearTimer('seats');
    if (!d || S.screen !== 'choose') return;
    api('GET', '/reservations/seats?date=' + encodeURIComponent(d)).then(function (res) {
      if (S.date !== d) return;
      if (res.status === 200 && Array.isArray(res.body)) {
        S.seats = res.body;
        renderSeats();
        if (focusMap) { var f = $('seatmap').querySelector('button'); if (f) f.focus(); }
      } else {
        fail(errText(res));
      }
      later('seats', 5000, loadSeats);
    }, function () { later('seats', 5000, loadSeats); });
  }

  function renderSeats() {
    var map = $('seatmap'), wrap = $('seatmap-wrap');
    if (!map) return;
    if (!S.seats || !S.date) { wrap.hidden = true; return; }
    wrap.hidden = false;
    $('seatmap-h').textContent = t('seatsFor', day(S.date));
    // The same seats as shown: update them in place (focus and a reader's position stay put);
    // another date: build the map anew.
    var old = map.querySelectorAll('button'), same = old.length === S.seats.length;
    S.seats.forEach(function (s, i) { if (same && old[i].getAttribute('data-seat') !== String(s.seatNumber)) same = false; });
    if (map.getAttribute('data-date') !== S.date) same = false;
    if (!same) { map.textContent = ''; map.setAttribute('data-date', S.date); }
    S.seats.forEach(function (s, i) {
      var b = same ? old[i] : document.createElement('button');
      if (!same) {
        b.type = 'button';
        b.setAttribute('data-seat', String(s.seatNumber));
        var num = document.createElement('span'), pr = document.createElement('span');
        num.className = 'num'; num.textContent = String(s.seatNumber);
        pr.className = 'price';
        b.appendChild(num); b.appendChild(pr);
        b.addEventListener('click', function () { if (b.getAttribute('aria-disabled') !== 'true') holdSeat(b.seat); });
        map.appendChild(b);
      }
      b.seat = s;
      b.className = 'seat ' + (s.available ? 'free' : 'taken') + ' tier' + tier(s.price);
      b.setAttribute('aria-label', t(s.available ? 'seatFree' : 'seatTaken', s.seatNumber, won(s.price)));
      b.title = won(s.price);
      b.lastChild.textContent = wonShort(s.price);
      // A taken seat stays focusable (aria-disabled, not disabled): a reader still announces it.
      if (s.available) b.removeAttribute('aria-disabled'); else b.setAttribute('aria-disabled', 'true');
    });
    if (S.activeUntil) $('admission-left').textContent = t('turnLeft', duration((S.activeUntil - serverNow()) / 1000));
  }
  function tier(price) {
    var ps = (S.seats || []).map(function (s) { return s.price; }).sort(function (a, b) { return b - a; });
    var uniq = ps.filter(function (p, i) { return ps.indexOf(p) === i; });
    return Math.min(3, uniq.indexOf(price) + 1);
  }

  function holdSeat(seat) {
    if (S.busy) return;
    S.busy = true;
    fail('');
    say(t('holding', seat.seatNumber));
    api('POST', '/reservations', { date: S.date, seatNumber: seat.seatNumber, token: S.token }, { token: S.token })
      .then(function (res) {
        S.busy = false;
        if (res.status === 201 && res.body) {
          S.hold = res.body;
          S.payKey = uuid();
          $('pay').disabled = false;
          clearTimer('seats');
          show('pay');
          renderPay();
          say(t('held', S.hold.seatNumber, duration((Date.parse(S.hold.expiresAt) - serverNow()) / 1000)));
          loadBalance();
          countdown();
          return;
        }
        var c = errCode(res);
        fail(errText(res));
        if (c === 'TOKEN_EXPIRED' || c === 'TOKEN_NOT_FOUND' || c === 'TOKEN_INVALID') { lapsed(); fail(errText(res)); return; }
        if (c === 'TOKEN_NOT_ACTIVE') { show('wait'); poll(); return; }
        loadSeats();
      }, function () { S.busy = false; fail(t('offline', 5)); });
  }

  // ------------------------------------------------------------------ pay
  function renderPay() {
    var h = S.hold;
    if (!h) return;
    $('pay-date').textContent = day(h.date);
    $('pay-seat').textContent = String(h.seatNumber);
    $('pay-price').textContent = won(h.price);
    if (S.balance !== undefined && S.balance !== null) $('pay-balance').textContent = won(S.balance);
    tick();
  }

  function tick() {
    if (!S.hold) return 0;
    var left = (Date.parse(S.hold.expiresAt) - serverNow()) / 1000;
    $('pay-countdown').textContent = duration(Math.floor(Math.max(0, left)));
    return left;
  }

  function countdown() {
    var left = tick();
    if (S.screen !== 'pay' || !S.hold) return;
    if (left <= 0) { released(); return; }
    later('countdown', 250, countdown);
  }

  function released() {
    var seat = S.hold ? S.hold.seatNumber : '';
    clearTimer('countdown');
    S.hold = null;
    $('pay').disabled = true;
    $('pay-countdown').textContent = duration(0);
    fail(t('released', seat));
    say('');
  }

  function loadBalance() {
    api('GET', '/balance?userId=' + encodeURIComponent(S.userId)).then(function (res) {
      if (res.status === 200 && res.body) S.balance = res.body.currentBalance;
      else if (errCode(res) === 'USER_NOT_FOUND') S.balance = 0;
      else { fail(errText(res)); return; }
      $('pay-balance').textContent = won(S.balance);
      // Suggest what is missing for this seat (a first-time buyer has no balance yet).
      var input = $('topup-amount');
      if (S.hold && !input.value && S.balance < S.hold.price) input.value = String(S.hold.price - S.balance);
    }, function () { fail(t('offline', 5)); });
  }

  function topUp(ev) {
    ev.preventDefault();
    var input = $('topup-amount'), amount = parseInt(input.value, 10);
    fail('');
    if (!(amount > 0)) { fail(TEXT[S.lang].errors.INVALID_AMOUNT); input.focus(); return; }
    $('topup').disabled = true;
    api('POST', '/balance', { userId: S.userId, amount: amount }, { idem: uuid() }).then(function (res) {
      $('topup').disabled = false;
      if (res.status === 200 && res.body) {
        S.balance = res.body.newBalance;
        $('pay-balance').textContent = won(S.balance);
        input.value = '';
        say(t('toppedUp', won(S.balance)));
      } else {
        fail(errText(res));
      }
    }, function () { $('topup').disabled = false; fail(t('offline', 5)); });
  }

  function pay() {
    var h = S.hold;
    if (!h || S.busy) return;
    S.busy = true;
    fail('');
    say(t('paying'));
    $('pay').disabled = true;
    api('POST', '/payments', { reservationId: h.reservationId, amount: h.price, token: S.token },
      { token: S.token, idem: S.payKey }).then(function (res) {
      S.busy = false;
      if (res.status === 201 && res.body) { receipt(h, res.body); return; }
      var c = errCode(res);
      say('');
      fail(errText(res));
      if (c === 'RESERVATION_EXPIRED' || c === 'RESERVATION_NOT_FOUND') { released(); fail(errText(res)); return; }
      if (c === 'TOKEN_EXPIRED' || c === 'TOKEN_NOT_FOUND' || c === 'TOKEN_INVALID') { lapsed(); fail(errText(res)); return; }
      if (c === 'ALREADY_PAID') return;
      // A refusal (4xx: e.g. too low a balance, topped up since): a new key for the next
      // attempt, else the server would replay this answer. An unknown outcome (5xx): the same
      // key, so that a retry cannot pay twice.
      if (res.status >= 400 && res.status < 500 && c !== 'IDEMPOTENCY_IN_PROGRESS') S.payKey = uuid();
      $('pay').disabled = false;
      loadBalance();
    }, function () { S.busy = false; $('pay').disabled = false; fail(t('offline', 5)); });
  }

  function receipt(h, p) {
    clearTimer('countdown'); clearTimer('seats');
    S.hold = null;
    $('receipt-payment').textContent = p.paymentId;
    $('receipt-date').textContent = day(h.date);
    $('receipt-seat').textContent = String(h.seatNumber);
    $('receipt-amount').textContent = won(p.amount);
    $('receipt-balance').textContent = won(p.balance);
    S.balance = p.balance;
    show('receipt');
    say(t('bought', h.seatNumber, day(h.date)));
  }

  function backToSeats() {
    clearTimer('countdown');
    S.hold = null;
    fail('');
    if (!S.token) { show('join'); return; }
    show('choose');
    loadDates();
  }

  // ------------------------------------------------------------------ start
  function start() {
    S.lang = pickLang();
    S.userId = load(KEY.user);
    $('lang').addEventListener('click', function () {
      S.lang = S.lang === 'ko' ? 'en' : 'ko';
      store(KEY.lang, S.lang);
      applyTexts();
    });
    $('join').addEventListener('click', join);
    $('rejoin').addEventListener('click', join);
    $('leave').addEventListener('click', leave);
    $('topup-form').addEventListener('submit', topUp);
    $('pay').addEventListener('click', pay);
    $('back-to-seats').addEventListener('click', backToSeats);
    $('another').addEventListener('click', backToSeats);
    // Seat map: besides Tab, the arrow keys move between seats (up/down by a row).
    $('seatmap').addEventListener('keydown', function (ev) {
      var seats = Array.prototype.slice.call($('seatmap').querySelectorAll('button'));
      var i = seats.indexOf(document.activeElement), cols, step = 0;
      if (i < 0) return;
      cols = Math.max(1, Math.round($('seatmap').clientWidth / (seats[0].offsetWidth || 1)));
      if (ev.key === 'ArrowRight') step = 1; else if (ev.key === 'ArrowLeft') step = -1;
      else if (ev.key === 'ArrowDown') step = cols; else if (ev.key === 'ArrowUp') step = -cols;
      else return;
      ev.preventDefault();
      var j = Math.min(seats.length - 1, Math.max(0, i + step));
      seats[j].focus();
    });
    applyTexts();
    document.body.setAttribute('data-ready', '1');
    if (load(KEY.joined) === '1' && S.userId) join(); // a reload or a second tab: same place
    else show('join');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
