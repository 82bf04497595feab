/*
 * onsale: the load generator of scripts/onsale.
 *
 * N simulated users arrive over T seconds (a spike at the opening, then a
 * thinning tail) and each runs the purchase as a small state machine over
 * the real HTTP API:
 *
 *   JOIN  POST /token -> WAITING: POLL (GET /token) until ACTIVE
 *   DATES GET /reservations/dates    (our date gone: sold out, leave)
 *   SEATS GET /reservations/seats    (no free seat: leave)
 *   HOLD  POST /reservations         (409: try another free seat)
 *   TOPUP POST /balance              (the seat's price)
 *   PAY   POST /payments             -> done
 *
 * A share of the users abandons while waiting (stops polling) and a share
 * after holding (never pays).  Users are multiplexed over a fixed pool of
 * keep-alive HTTP/1.1 connections driven by one epoll loop: one request in
 * flight per connection, a user waiting for a connection sits in a FIFO,
 * a user waiting for time (poll interval) sits in a min-heap.  The client
 * never sleeps on the server: the measured latency of a request is from
 * its first byte written to its last byte read.
 *
 * The poll interval is what the server asks for (Retry-After, or a
 * pollAfterSeconds field), else remainingTime / 2, always within 1..30 s.
 *
 * Output: a JSON object of client-side figures on stdout (or --json FILE)
 * and, with --timeline FILE, one CSV row per second.  Oversold seats and
 * FIFO order are read from the database by scripts/onsale, not here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- latency histograms: log buckets of 2 % width from 1 us */
#define HIST_N 1100
#define HIST_BASE 1.02

struct hist {
	uint64_t n;
	uint32_t b[HIST_N];
};

static void
hist_add(struct hist *h, double us)
{
	int i = us <= 1 ? 0 : (int)(log(us) / log(HIST_BASE));

	if (i >= HIST_N)
		i = HIST_N - 1;
	h->b[i]++;
	h->n++;
}

/* The q-quantile in ms (upper edge of its bucket), 0 for an empty one. */
static double
hist_q(const struct hist *h, double q)
{
	uint64_t want, acc = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)h->n);
	if (want == 0)
		want = 1;
	for (int i = 0; i < HIST_N; i++) {
		acc += h->b[i];
		if (acc >= want)
			return pow(HIST_BASE, i + 1) / 1000.0;
	}
	return pow(HIST_BASE, HIST_N) / 1000.0;
}

/* ---- endpoints: one row per request kind, with its own counters */
enum ep { EP_JOIN, EP_POLL, EP_DATES, EP_SEATS, EP_HOLD, EP_TOPUP, EP_PAY, EP__N };

static const char *const ep_name[EP__N] = {
	"token_issue", "token_poll", "dates", "seats", "hold", "topup", "pay",
};

struct ep_stat {
	struct hist h;
	uint64_t status[6]; /* by class: [1] 1xx .. [5] 5xx, [0] i/o error */
	uint64_t s409, s429;
};

static struct ep_stat eps[EP__N];
static struct hist all_h;

/* ---- users */
enum ustate { U_ARRIVE, U_POLL, U_DATES, U_SEATS, U_HOLD, U_TOPUP, U_PAY, U_DONE };

struct user {
	int64_t due_us;          /* heap key */
	int heap_i;              /* index in the heap, -1 when not there */
	uint8_t state;
	uint8_t tries;           /* holds tried on this seat map */
	uint8_t polls_left;      /* > 0: abandons after so many polls */
	uint8_t abandon_hold;    /* leaves after its hold */
	uint8_t waiting;         /* counted in the line (client view) */
	int seat;
	long long price;
	char uuid[37];
	char token[33];
	char res[37];
};

static struct user *users;
static long nusers;

/* min-heap of users by due time */
static struct user **heap;
static long heap_n;

static void
heap_swap(long a, long b)
{
	struct user *t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
	heap[a]->heap_i = (int)a;
	heap[b]->heap_i = (int)b;
}

static void
heap_push(struct user *u, int64_t due)
{
	long i = heap_n++;

	u->due_us = due;
	heap[i] = u;
	u->heap_i = (int)i;
	while (i > 0 && heap[(i - 1) / 2]->due_us > heap[i]->due_us) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct user *
heap_pop(void)
{
	struct user *top = heap[0];
	long i = 0;

	heap_n--;
	if (heap_n > 0) {
		heap[0] = heap[heap_n];
		heap[0]->heap_i = 0;
		for (;;) {
			long l = 2 * i + 1, r = l + 1, m = i;

			if (l < heap_n && heap[l]->due_us < heap[m]->due_us)
				m = l;
			if (r < heap_n && heap[r]->due_us < heap[m]->due_us)
				m = r;
			if (m == i)
				break;
			heap_swap(i, m);
			i = m;
		}
	}
	top->heap_i = -1;
	return top;
}

/* FIFO of users due now, waiting for a free connection (a ring). */
static struct user **ready;
static long ready_head, ready_n;

static void
ready_push(struct user *u)
{
	ready[(ready_head + ready_n) % nusers] = u;
	ready_n++;
}

static struct user *
ready_pop(void)
{
	struct user *u = ready[ready_head];

	ready_head = (ready_head + 1) % nusers;
	ready_n--;
	return u;
}

/* ---- connections */
#define RBUF_MAX (8 << 20)

struct conn {
	int fd;
	int connected;
	struct user *u;          /* NULL: idle */
	enum ep ep;
	char *w;                 /* request bytes */
	size_t wlen, woff;
	char *r;                 /* response bytes */
	size_t rlen, rcap;
	int64_t t0_us;
	int resent;
};

static struct conn *conns;
static int nconns, epfd;
static struct sockaddr_in addr;
static char host_hdr[128];

/* ---- options and run state */
static double opt_seconds = 60, opt_spike = 0.5, opt_spike_s = 0;
static double opt_abandon_wait = 0.05, opt_abandon_hold = 0.05;
static double opt_max_seconds = 0, opt_think = 0;
static const char *opt_date;
static const char *opt_json, *opt_timeline;
static unsigned opt_seed = 1;

static int64_t t_start_us;
static long long n_paid, n_held, n_admitted, n_expired, n_left_wait, n_left_hold;
static long long n_soldout_seen, n_hold_409, n_waiting, n_done, n_reqs, n_io_err;
static long long max_position;
static double sold_out_s = -1;
static volatile sig_atomic_t stop_flag;

/* per-second timeline */
#define TL_MAX 3600
struct tl {
	long long reqs, admitted, paid, waiting_max, err5;
	struct hist *h;
};
static struct tl tl[TL_MAX];

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct tl *
tl_now(void)
{
	long s = (long)((now_us() - t_start_us) / 1000000);

	if (s < 0)
		s = 0;
	if (s >= TL_MAX)
		s = TL_MAX - 1;
	return &tl[s];
}

static double
rnd(void)
{
	return (double)random() / ((double)RAND_MAX + 1.0);
}

static void
fatal(const char *what)
{
	fprintf(stderr, "onsale: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
uuid4(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];

	/* from the kernel, not random(): a rerun with the same --seed must
	 * not meet the users (and live tokens) of an earlier run */
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		fatal("getrandom");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (int i = 0, o = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[36] = '\0';
}

/* ---- tiny JSON field readers (the answers are the server's own, flat) */

/* Pointer just past `"key":` in body, or NULL. */
static const char *
field(const char *body, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(body, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return p;
}

static int
field_str(const char *body, const char *key, char *out, size_t n)
{
	const char *p = field(body, key), *e;

	if (p == NULL || *p != '"')
		return -1;
	p++;
	if ((e = strchr(p, '"')) == NULL || (size_t)(e - p) >= n)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

static int
field_num(const char *body, const char *key, long long *out)
{
	const char *p = field(body, key);
	char *end;

	if (p == NULL)
		return -1;
	*out = strtoll(p, &end, 10);
	return end == p ? -1 : 0;
}

/* ---- the seat map: the free seats of our date, as the last reader saw it.
 * Shared by all users (each reads the map itself, as a browser would; the
 * copy here only saves re-parsing when a hold loses a race). */
static int *free_seats;
static long free_n, free_cap;

static void
seats_parse(const char *body)
{
	const char *p = body;

	free_n = 0;
	while ((p = strstr(p, "\"seatNumber\":")) != NULL) {
		long long sn;
		const char *q;

		p += 13;
		sn = strtoll(p, NULL, 10);
		q = strchr(p, '}');
		if (q == NULL)
			break;
		if (memmem(p, (size_t)(q - p), "\"available\":true", 16) != NULL) {
			if (free_n == free_cap) {
				free_cap = free_cap ? free_cap * 2 : 1024;
				free_seats = realloc(free_seats, sizeof(*free_seats) * (size_t)free_cap);
				if (free_seats == NULL)
					fatal("realloc");
			}
			free_seats[free_n++] = (int)sn;
		}
		p = q;
	}
}

/* Take a random free seat off the shared list; -1 when none is left. */
static int
seat_take(void)
{
	long i;
	int s;

	if (free_n == 0)
		return -1;
	i = (long)(rnd() * (double)free_n);
	s = free_seats[i];
	free_seats[i] = free_seats[--free_n];
	return s;
}

/* ---- requests */
static void
conn_set_request(struct conn *c, const char *method, const char *path,
    const char *auth, const char *body)
{
	size_t blen = body ? strlen(body) : 0;
	char hdr[512];
	int n;

	n = snprintf(hdr, sizeof(hdr),
	    "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s"
	    "Content-Length: %lu\r\n\r\n",
	    method, path, host_hdr,
	    auth ? "Authorization: Bearer " : "", auth ? auth : "", auth ? "\r\n" : "",
	    body ? "Content-Type: application/json\r\n" : "",
	    (unsigned long)blen);
	free(c->w);
	c->w = malloc((size_t)n + blen);
	if (c->w == NULL)
		fatal("malloc");
	memcpy(c->w, hdr, (size_t)n);
	if (blen)
		memcpy(c->w + n, body, blen);
	c->wlen = (size_t)n + blen;
	c->woff = 0;
	c->rlen = 0;
}

static void
build(struct conn *c, struct user *u)
{
	char b[512], path[256];

	switch (u->state) {
	case U_ARRIVE:
		c->ep = EP_JOIN;
		snprintf(b, sizeof(b), "{\"userId\":\"%s\"}", u->uuid);
		conn_set_request(c, "POST", "/api/v1/token", NULL, b);
		break;
	case U_POLL:
		c->ep = EP_POLL;
		conn_set_request(c, "GET", "/api/v1/token", u->token, NULL);
		break;
	case U_DATES:
		c->ep = EP_DATES;
		conn_set_request(c, "GET", "/api/v1/reservations/dates", NULL, NULL);
		break;
	case U_SEATS:
		c->ep = EP_SEATS;
		snprintf(path, sizeof(path), "/api/v1/reservations/seats?date=%s", opt_date);
		conn_set_request(c, "GET", path, NULL, NULL);
		break;
	case U_HOLD:
		c->ep = EP_HOLD;
		snprintf(b, sizeof(b), "{\"date\":\"%s\",\"seatNumber\":%d,\"token\":\"%s\"}",
		    opt_date, u->seat, u->token);
		conn_set_request(c, "POST", "/api/v1/reservations", NULL, b);
		break;
	case U_TOPUP:
		c->ep = EP_TOPUP;
		snprintf(b, sizeof(b), "{\"userId\":\"%s\",\"amount\":%lld}", u->uuid, u->price);
		conn_set_request(c, "POST", "/api/v1/balance", NULL, b);
		break;
	case U_PAY:
		c->ep = EP_PAY;
		snprintf(b, sizeof(b), "{\"reservationId\":\"%s\",\"amount\":%lld,\"token\":\"%s\"}",
		    u->res, u->price, u->token);
		conn_set_request(c, "POST", "/api/v1/payments", NULL, b);
		break;
	default:
		break;
	}
}

/* ---- state transitions */
static void
leave_line(struct user *u)
{
	if (u->waiting) {
		u->waiting = 0;
		n_waiting--;
	}
}

static void
finish(struct user *u)
{
	leave_line(u);
	u->state = U_DONE;
	n_done++;
}

static void
next_step(struct user *u, enum ustate s, double delay_s)
{
	u->state = (uint8_t)s;
	if (delay_s <= 0 && opt_think <= 0)
		ready_push(u);
	else
		heap_push(u, now_us() + (int64_t)((delay_s + opt_think) * 1e6));
}

/* The poll interval the server asked for, else one from remainingTime. */
static double
poll_delay(const char *hdrs, const char *body)
{
	long long v;
	double d = -1;
	const char *ra = strcasestr(hdrs, "\r\nRetry-After:");

	if (ra != NULL)
		d = strtod(ra + 14, NULL);
	else if (field_num(body, "pollAfterSeconds", &v) == 0)
		d = (double)v;
	else if (field_num(body, "remainingTime", &v) == 0)
		d = (double)v / 2;
	if (d < 1)
		d = 1;
	if (d > 30)
		d = 30;
	return d * (0.9 + 0.2 * rnd()); /* jitter: no synchronised waves */
}

static void
admitted(struct user *u)
{
	leave_line(u);
	n_admitted++;
	tl_now()->admitted++;
	next_step(u, U_DATES, 0);
}

static void
on_token(struct user *u, int status, const char *hdrs, const char *body)
{
	char st[16];
	long long pos;

	if (status == 429 || status == 503) { /* throttled: try again shortly */
		next_step(u, u->state, 1 + rnd());
		return;
	}
	if ((status != 200 && status != 201) || field_str(body, "status", st, sizeof(st)) < 0) {
		finish(u);
		return;
	}
	if (u->state == U_ARRIVE && field_str(body, "token", u->token, sizeof(u->token)) < 0) {
		finish(u);
		return;
	}
	if (field_num(body, "queuePosition", &pos) == 0 && pos > max_position)
		max_position = pos;
	if (strcmp(st, "ACTIVE") == 0) {
		admitted(u);
	} else if (strcmp(st, "WAITING") == 0) {
		if (!u->waiting) {
			u->waiting = 1;
			n_waiting++;
		}
		if (u->polls_left > 0 && --u->polls_left == 0) {
			n_left_wait++;
			finish(u);
			return;
		}
		next_step(u, U_POLL, poll_delay(hdrs, body));
	} else {
		n_expired++;
		finish(u);
	}
}

static void
sold_out(struct user *u)
{
	n_soldout_seen++;
	if (sold_out_s < 0)
		sold_out_s = (double)(now_us() - t_start_us) / 1e6;
	finish(u);
}

static void
on_answer(struct user *u, enum ep ep, int status, const char *hdrs, const char *body)
{
	char pat[32];

	switch (ep) {
	case EP_JOIN:
	case EP_POLL:
		on_token(u, status, hdrs, body);
		break;
	case EP_DATES:
		snprintf(pat, sizeof(pat), "\"%s\"", opt_date);
		if (status == 200 && strstr(body, pat) != NULL)
			next_step(u, U_SEATS, 0);
		else if (status == 200)
			sold_out(u);
		else
			finish(u);
		break;
	case EP_SEATS:
		if (status != 200) {
			finish(u);
			break;
		}
		seats_parse(body);
		u->tries = 0;
		if ((u->seat = seat_take()) < 0)
			sold_out(u);
		else
			next_step(u, U_HOLD, 0);
		break;
	case EP_HOLD:
		if (status == 201 && field_str(body, "reservationId", u->res, sizeof(u->res)) == 0 &&
		    field_num(body, "price", &u->price) == 0) {
			n_held++;
			if (u->abandon_hold) {
				n_left_hold++;
				finish(u);
			} else {
				next_step(u, U_TOPUP, 0);
			}
		} else if (status == 409) {
			n_hold_409++;
			/* Lost the race: another free seat from the map we read, and
			 * after a few losses read the map again. */
			if (++u->tries < 4 && (u->seat = seat_take()) >= 0)
				next_step(u, U_HOLD, 0);
			else
				next_step(u, U_SEATS, 0);
		} else {
			finish(u);
		}
		break;
	case EP_TOPUP:
		if (status == 200)
			next_step(u, U_PAY, 0);
		else
			finish(u);
		break;
	case EP_PAY:
		if (status == 201 || status == 200) {
			n_paid++;
			tl_now()->paid++;
		}
		finish(u);
		break;
	default:
		break;
	}
}

/* ---- connection I/O */
static void
conn_open(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fatal("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS)
		fatal("connect");
	c->connected = 0;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		fatal("epoll_ctl");
}

static void
conn_close(struct conn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void
conn_want(struct conn *c, int out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.ptr = c };

	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static int
conn_flush(struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = write(c->fd, c->w + c->woff, c->wlen - c->woff);

		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->woff += (size_t)n;
	}
	conn_want(c, 0);
	return 0;
}

static void
conn_start(struct conn *c, struct user *u)
{
	c->u = u;
	c->resent = 0;
	build(c, u);
	c->t0_us = now_us();
	if (c->fd < 0)
		conn_open(c);
	else if (!c->connected)
		conn_want(c, 1); /* written once the connect completes */
	else if (conn_flush(c) < 0) {
		conn_close(c);
		conn_open(c);
	} else if (c->woff < c->wlen)
		conn_want(c, 1);
}

/* Decode a chunked body in place; its length, or -1 while incomplete. */
static long
dechunk(char *b, size_t n)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *e;
		unsigned long sz;
		char *nl = memmem(b + in, n - in, "\r\n", 2);

		if (nl == NULL)
			return -1;
		sz = strtoul(b + in, &e, 16);
		in = (size_t)(nl - b) + 2;
		if (sz == 0)
			return memmem(b + in, n - in, "\r\n", 2) ? (long)out : -1;
		if (in + sz + 2 > n)
			return -1;
		memmove(b + out, b + in, sz);
		out += sz;
		in += sz + 2;
	}
}

/* A complete response in c->r: its status, headers and body; 0 while incomplete. */
static int
parse_response(struct conn *c, int *status, char **hdrs, char **body, int *close_after)
{
	char *end = memmem(c->r, c->rlen, "\r\n\r\n", 4), *cl, *te;
	size_t hlen;

	if (end == NULL)
		return 0;
	hlen = (size_t)(end - c->r) + 4;
	*end = '\0';                 /* headers become a C string */
	*hdrs = c->r;
	*status = atoi(c->r + 9);
	*close_after = strcasestr(c->r, "\r\nConnection: close") != NULL;
	cl = strcasestr(c->r, "\r\nContent-Length:");
	te = strcasestr(c->r, "\r\nTransfer-Encoding: chunked");
	if (cl != NULL) {
		size_t len = strtoul(cl + 17, NULL, 10);

		if (c->rlen < hlen + len) {
			*end = '\r';
			return 0;
		}
		c->r[hlen + len] = '\0';
	} else if (te != NULL) {
		long len = dechunk(c->r + hlen, c->rlen - hlen);

		if (len < 0) {
			*end = '\r';
			return 0;
		}
		c->r[hlen + (size_t)len] = '\0';
	} else {
		c->r[c->rlen] = '\0'; /* no length: body up to EOF (not expected here) */
	}
	*body = c->r + hlen;
	return 1;
}

static void
record(enum ep ep, int status, double us)
{
	struct tl *t = tl_now();
	int cls = status / 100;

	hist_add(&eps[ep].h, us);
	hist_add(&all_h, us);
	if (t->h != NULL)
		hist_add(t->h, us);
	if (cls < 1 || cls > 5)
		cls = 0;
	eps[ep].status[cls]++;
	if (status == 409)
		eps[ep].s409++;
	if (status == 429)
		eps[ep].s429++;
	if (cls == 5)
		t->err5++;
	t->reqs++;
	n_reqs++;
}

static void
conn_error(struct conn *c)
{
	struct user *u = c->u;

	conn_close(c);
	if (u != NULL && c->resent == 0 && c->rlen == 0) {
		/* The server closed an idle keep-alive connection as we wrote: send again. */
		c->resent = 1;
		conn_open(c);
		c->woff = 0;
		return;
	}
	if (u != NULL) {
		n_io_err++;
		eps[c->ep].status[0]++;
		c->u = NULL;
		next_step(u, u->state, 1); /* try the same step again in a second */
	}
	conn_open(c);
}

static void
conn_readable(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->rcap - c->rlen < 65536) {
			if (c->rcap >= RBUF_MAX) {
				errno = EMSGSIZE;
				fatal("response too large");
			}
			c->rcap = c->rcap ? c->rcap * 2 : 131072;
			if ((c->r = realloc(c->r, c->rcap)) == NULL)
				fatal("realloc");
		}
		n = read(c->fd, c->r + c->rlen, c->rcap - c->rlen - 1);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			conn_error(c);
			return;
		}
		if (n < 0)
			break;
		c->rlen += (size_t)n;
	}
	if (c->u == NULL) {
		c->rlen = 0;
		return;
	}
	int status, close_after;
	char *hdrs, *body;

	if (!parse_response(c, &status, &hdrs, &body, &close_after))
		return;
	struct user *u = c->u;
	enum ep ep = c->ep;

	record(ep, status, (double)(now_us() - c->t0_us));
	c->u = NULL;
	c->rlen = 0;
	on_answer(u, ep, status, hdrs, body);
	if (close_after) {
		conn_close(c);
		conn_open(c);
	}
}

static void
on_event(struct conn *c, uint32_t ev)
{
	if (!c->connected && (ev & EPOLLOUT)) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			errno = err;
			fatal("connect");
		}
		c->connected = 1;
		if (c->u == NULL)
			conn_want(c, 0);
	}
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		conn_readable(c);
		if (c->fd < 0)
			return;
	}
	if (c->connected && c->u != NULL && c->woff < c->wlen && (ev & EPOLLOUT)) {
		if (conn_flush(c) < 0)
			conn_error(c);
	}
}

/* ---- arrivals: a spike at the opening, then a tail thinning out */
static int
cmp_ll(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
schedule_arrivals(void)
{
	int64_t *at = malloc(sizeof(*at) * (size_t)nusers);
	double spike_s = opt_spike_s > 0 ? opt_spike_s : opt_seconds * 0.1;

	if (at == NULL)
		fatal("malloc");
	for (long i = 0; i < nusers; i++) {
		double t;

		if (rnd() < opt_spike)
			t = rnd() * spike_s;
		else /* density falling linearly from the spike's end to T */
			t = spike_s + (opt_seconds - spike_s) * (1 - sqrt(1 - rnd()));
		at[i] = (int64_t)(t * 1e6);
	}
	qsort(at, (size_t)nusers, sizeof(*at), cmp_ll);
	for (long i = 0; i < nusers; i++) {
		struct user *u = &users[i];

		uuid4(u->uuid);
		u->state = U_ARRIVE;
		u->heap_i = -1;
		if (rnd() < opt_abandon_wait)
			u->polls_left = (uint8_t)(1 + random() % 5);
		u->abandon_hold = rnd() < opt_abandon_hold;
		heap_push(u, t_start_us + at[i]);
	}
	free(at);
}

/* ---- output */
static void
print_json(FILE *f, double elapsed)
{
	fprintf(f, "{\n  \"users\": %ld,\n  \"date\": \"%s\",\n  \"elapsed_s\": %.1f,\n", nusers, opt_date, elapsed);
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	fprintf(f, "  \"client_cpu_s\": %.2f,\n", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	fprintf(f, "  \"connections\": %d,\n  \"requests\": %lld,\n  \"rps\": %.0f,\n", nconns, n_reqs,
	    elapsed > 0 ? (double)n_reqs / elapsed : 0);
	fprintf(f, "  \"admitted\": %lld,\n  \"held\": %lld,\n  \"paid_client\": %lld,\n", n_admitted, n_held, n_paid);
	fprintf(f, "  \"hold_conflicts\": %lld,\n  \"left_waiting\": %lld,\n  \"left_after_hold\": %lld,\n",
	    n_hold_409, n_left_wait, n_left_hold);
	fprintf(f, "  \"expired_tokens\": %lld,\n  \"saw_sold_out\": %lld,\n  \"still_in_line\": %lld,\n",
	    n_expired, n_soldout_seen, n_waiting);
	fprintf(f, "  \"unfinished\": %lld,\n  \"io_errors\": %lld,\n  \"longest_line\": %lld,\n",
	    (long long)nusers - n_done, n_io_err, max_position);
	if (sold_out_s < 0)
		fprintf(f, "  \"sold_out_s\": null,\n");
	else
		fprintf(f, "  \"sold_out_s\": %.1f,\n", sold_out_s);
	uint64_t e5 = 0;

	for (int i = 0; i < EP__N; i++)
		e5 += eps[i].status[5];
	fprintf(f, "  \"errors_5xx\": %llu,\n", (unsigned long long)e5);
	fprintf(f, "  \"p50_ms\": %.2f,\n  \"p95_ms\": %.2f,\n  \"p99_ms\": %.2f,\n",
	    hist_q(&all_h, .5), hist_q(&all_h, .95), hist_q(&all_h, .99));
	fprintf(f, "  \"endpoints\": {\n");
	for (int i = 0; i < EP__N; i++) {
		struct ep_stat *e = &eps[i];

		fprintf(f, "    \"%s\": {\"requests\": %llu, \"p50_ms\": %.2f, \"p95_ms\": %.2f, \"p99_ms\": %.2f, "
		    "\"2xx\": %llu, \"4xx\": %llu, \"409\": %llu, \"429\": %llu, \"5xx\": %llu, \"io_errors\": %llu}%s\n",
		    ep_name[i], (unsigned long long)e->h.n, hist_q(&e->h, .5), hist_q(&e->h, .95), hist_q(&e->h, .99),
		    (unsigned long long)e->status[2], (unsigned long long)e->status[4],
		    (unsigned long long)e->s409, (unsigned long long)e->s429,
		    (unsigned long long)e->status[5], (unsigned long long)e->status[0],
		    i + 1 < EP__N ? "," : "");
	}
	fprintf(f, "  }\n}\n");
}

static void
print_timeline(const char *path, long secs)
{
	FILE *f = fopen(path, "w");
	long long paid = 0;

	if (f == NULL)
		fatal(path);
	fprintf(f, "second,requests,line,admitted,paid_total,p99_ms,errors_5xx\n");
	for (long s = 0; s < secs && s < TL_MAX; s++) {
		paid += tl[s].paid;
		fprintf(f, "%ld,%lld,%lld,%lld,%lld,%.2f,%lld\n", s, tl[s].reqs, tl[s].waiting_max,
		    tl[s].admitted, paid, tl[s].h ? hist_q(tl[s].h, .99) : 0, tl[s].err5);
	}
	fclose(f);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: onsale --url http://127.0.0.1:PORT --date YYYY-MM-DD [--users N] [--seconds T]\n"
	    "              [--connections C] [--abandon-wait P] [--abandon-hold P] [--spike P]\n"
	    "              [--spike-seconds S] [--think S] [--max-seconds S] [--seed N]\n"
	    "              [--json FILE] [--timeline FILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "url", 1, 0, 'u' }, { "date", 1, 0, 'd' }, { "users", 1, 0, 'n' },
		{ "seconds", 1, 0, 't' }, { "connections", 1, 0, 'c' }, { "abandon-wait", 1, 0, 'w' },
		{ "abandon-hold", 1, 0, 'h' }, { "spike", 1, 0, 's' }, { "spike-seconds", 1, 0, 'S' },
		{ "think", 1, 0, 'k' }, { "max-seconds", 1, 0, 'm' }, { "seed", 1, 0, 'r' },
		{ "json", 1, 0, 'j' }, { "timeline", 1, 0, 'l' }, { 0, 0, 0, 0 },
	};
	const char *url = NULL;
	int opt, port;
	char ip[64];
	struct epoll_event evs[256];
	int64_t last_tick = 0;

	nusers = 100000;
	nconns = 256;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'd': opt_date = optarg; break;
		case 'n': nusers = atol(optarg); break;
		case 't': opt_seconds = atof(optarg); break;
		case 'c': nconns = atoi(optarg); break;
		case 'w': opt_abandon_wait = atof(optarg); break;
		case 'h': opt_abandon_hold = atof(optarg); break;
		case 's': opt_spike = atof(optarg); break;
		case 'S': opt_spike_s = atof(optarg); break;
		case 'k': opt_think = atof(optarg); break;
		case 'm': opt_max_seconds = atof(optarg); break;
		case 'r': opt_seed = (unsigned)atol(optarg); break;
		case 'j': opt_json = optarg; break;
		case 'l': opt_timeline = optarg; break;
		default: usage();
		}
	}
	if (url == NULL || opt_date == NULL || nusers < 1 || nconns < 1 || opt_seconds <= 0)
		usage();
	if (sscanf(url, "http://%63[0-9.]:%d", ip, &port) != 2)
		usage();
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
		usage();
	snprintf(host_hdr, sizeof(host_hdr), "%s:%d", ip, port);
	if (opt_max_seconds <= 0)
		opt_max_seconds = opt_seconds * 3 + 60;
	srandom(opt_seed);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	users = calloc((size_t)nusers, sizeof(*users));
	heap = calloc((size_t)nusers, sizeof(*heap));
	ready = calloc((size_t)nusers, sizeof(*ready));
	conns = calloc((size_t)nconns, sizeof(*conns));
	if (!users || !heap || !ready || !conns)
		fatal("calloc");
	for (long s = 0; s < (long)(opt_max_seconds + 2) && s < TL_MAX; s++)
		if ((tl[s].h = calloc(1, sizeof(struct hist))) == NULL)
			fatal("calloc");
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	for (int i = 0; i < nconns; i++)
		conn_open(&conns[i]);

	t_start_us = now_us() + 200000; /* let the connections open first */
	schedule_arrivals();

	int idle_from = 0;

	while (!stop_flag) {
		int64_t now = now_us(), timeout_ms;
		int n;

		while (heap_n > 0 && heap[0]->due_us <= now)
			ready_push(heap_pop());
		/* hand due users to idle connections (round robin start) */
		for (int k = 0; k < nconns && ready_n > 0; k++) {
			struct conn *c = &conns[(idle_from + k) % nconns];

			if (c->u == NULL && c->fd >= 0)
				conn_start(c, ready_pop());
		}
		idle_from = (idle_from + 1) % nconns;
		if (now - last_tick >= 100000) {
			struct tl *t = tl_now();

			if (n_waiting > t->waiting_max)
				t->waiting_max = n_waiting;
			last_tick = now;
		}
		if (n_done >= nusers)
			break;
		if (now - t_start_us > (int64_t)(opt_max_seconds * 1e6))
			break;
		/* Once sold out, those still in line will never buy: stop at T. */
		if (sold_out_s >= 0 && now - t_start_us > (int64_t)(opt_seconds * 1e6) && heap_n + ready_n == n_waiting) {
			int busy = 0;

			for (int i = 0; i < nconns; i++)
				busy |= conns[i].u != NULL;
			if (!busy)
				break;
		}
		timeout_ms = 100;
		if (ready_n > 0)
			timeout_ms = 1;
		else if (heap_n > 0 && (heap[0]->due_us - now) / 1000 < timeout_ms)
			timeout_ms = (heap[0]->due_us - now) / 1000;
		if (timeout_ms < 0)
			timeout_ms = 0;
		n = epoll_wait(epfd, evs, 256, (int)timeout_ms);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);
	}

	double elapsed = (double)(now_us() - t_start_us) / 1e6;
	FILE *out = stdout;

	if (opt_json != NULL && (out = fopen(opt_json, "w")) == NULL)
		fatal(opt_json);
	print_json(out, elapsed);
	if (out != stdout)
		fclose(out);
	if (opt_timeline != NULL)
		print_timeline(opt_timeline, (long)elapsed + 1);
	return 0;
}
