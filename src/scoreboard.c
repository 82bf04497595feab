/*
 * scoreboard: see scoreboard.h.
 */
#include "scoreboard.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "clock.h"
#include "util.h"

/* TCP_LISTEN of the kernel's socket states, as sock_diag wants it. */
#define SCOREBOARD_TCP_LISTEN 10
/* INET_DIAG_NOCOOKIE: look the socket up by inode alone. */
#define SCOREBOARD_NOCOOKIE (~0U)

static struct scoreboard *sb;
static struct scoreboard_slot *sb_self;      /* this worker's slot */
static struct scoreboard_slot sb_private;    /* when no slot was free */
static int sb_listen_fd = -1;

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define ADD(p, v)   __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)

int64_t
scoreboard_now_ms(void)
{
	return clock_mono_ms();
}

int
scoreboard_create(char *err, size_t errlen)
{
	void *p;

	if (sb != NULL)
		return 0;
	/* Anonymous and shared: inherited by every fork, gone with the last
	 * process, no file to clean up. */
	p = mmap(NULL, sizeof(*sb), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "mmap of the scoreboard (%zu bytes) "
		    "failed: %s", sizeof(*sb), strerror(errno));
		return -1;
	}
	sb = p;       /* zero-filled: every slot FREE, every counter 0 */
	sb->pool.started_at_ms = clock_wall_ms();
	sb->pool.started_mono_ms = clock_mono_ms();
	/* If randomness fails the key stays unusable (all zero): the
	 * workers then refuse to sign with it (scoreboard_queue_key). */
	if (util_random(sb->queue.key, sizeof(sb->queue.key)) == -1)
		memset(sb->queue.key, 0, sizeof(sb->queue.key));
	return 0;
}

struct scoreboard *
scoreboard_get(void)
{
	return sb;
}

int
scoreboard_slot_alloc(void)
{
	int i, used;

	if (sb == NULL)
		return -1;
	used = LOAD(&sb->pool.slots_used);
	/* Lowest free slot: keeps the part readers scan small. */
	for (i = 0; i < SCOREBOARD_SLOTS; i++) {
		struct scoreboard_slot *s = &sb->slot[i];

		if (LOAD(&s->state) != SCOREBOARD_FREE)
			continue;
		STORE(&s->pid, 0);
		STORE(&s->retiring, 0);
		STORE(&s->route, -1);
		STORE(&s->method, 0);
		STORE(&s->req_start_ms, 0);
		STORE(&s->requests, 0);
		STORE(&s->accepted, 0);
		s->request_id[0] = '\0';
		STORE(&s->state, SCOREBOARD_STARTING);
		if (i >= used)
			STORE(&sb->pool.slots_used, i + 1);
		return i;
	}
	return -1;
}

void
scoreboard_slot_pid(int idx, pid_t pid)
{
	if (sb != NULL && idx >= 0 && idx < SCOREBOARD_SLOTS)
		STORE(&sb->slot[idx].pid, (int32_t)pid);
}

void
scoreboard_slot_retire(int idx)
{
	if (sb != NULL && idx >= 0 && idx < SCOREBOARD_SLOTS)
		STORE(&sb->slot[idx].retiring, 1);
}

void
scoreboard_slot_free(int idx)
{
	if (sb == NULL || idx < 0 || idx >= SCOREBOARD_SLOTS)
		return;
	STORE(&sb->slot[idx].req_start_ms, 0);
	STORE(&sb->slot[idx].state, SCOREBOARD_FREE);
}

void
scoreboard_set_workers_wanted(long n)
{
	if (sb != NULL)
		STORE(&sb->pool.workers_wanted, (int32_t)n);
}

void
scoreboard_set_pm(int mode, long max_children)
{
	if (sb == NULL)
		return;
	STORE(&sb->pool.pm_mode, (int32_t)mode);
	STORE(&sb->pool.pm_max_children, (int32_t)max_children);
}

void
scoreboard_count_pm_limit(void)
{
	if (sb != NULL)
		__atomic_fetch_add(&sb->pool.pm_limit_reached, 1,
		    __ATOMIC_RELAXED);
}

void
scoreboard_name_routes(const char *(*name)(int idx), int n)
{
	int i;

	if (sb == NULL)
		return;
	if (n > SCOREBOARD_ROUTES)
		n = SCOREBOARD_ROUTES;
	for (i = 0; i < n; i++)
		snprintf(sb->route_name[i], sizeof(sb->route_name[i]), "%s",
		    name(i));
	STORE(&sb->pool.routes_named, n);
}

const char *
scoreboard_route_name(int idx)
{
	if (sb == NULL || idx < 0 || idx >= LOAD(&sb->pool.routes_named))
		return "-";
	return sb->route_name[idx];
}

int
scoreboard_routes_named(void)
{
	return sb != NULL ? LOAD(&sb->pool.routes_named) : 0;
}

void
scoreboard_attach(int idx, int listen_fd)
{
	sb_listen_fd = listen_fd;
	if (sb != NULL && idx >= 0 && idx < SCOREBOARD_SLOTS) {
		sb_self = &sb->slot[idx];
	} else {
		memset(&sb_private, 0, sizeof(sb_private));
		sb_self = &sb_private;
	}
	STORE(&sb_self->pid, (int32_t)getpid());
}

void
scoreboard_set_state(enum scoreboard_state st)
{
	if (sb_self != NULL)
		STORE(&sb_self->state, (int32_t)st);
}

/* Writer side of the sequence counter: odd while fields change. */
static void
scoreboard_write_begin(struct scoreboard_slot *s)
{
	STORE(&s->seq, s->seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
scoreboard_write_end(struct scoreboard_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

void
scoreboard_request_begin(int64_t now_ms)
{
	struct scoreboard_slot *s = sb_self;

	if (s == NULL)
		return;
	scoreboard_write_begin(s);
	STORE(&s->req_start_ms, now_ms);
	STORE(&s->route, -1);
	s->request_id[0] = '\0';
	scoreboard_write_end(s);
	ADD(&s->accepted, 1);
	STORE(&s->state, SCOREBOARD_BUSY);
	if (sb != NULL)
		ADD(&sb->pool.accepted, 1);
}

void
scoreboard_request_route(int route, int method, const char *request_id)
{
	struct scoreboard_slot *s = sb_self;
	size_t n;

	if (s == NULL)
		return;
	scoreboard_write_begin(s);
	STORE(&s->route, route);
	STORE(&s->method, method);
	n = request_id != NULL ? strnlen(request_id, SCOREBOARD_RID_LEN - 1) : 0;
	memcpy(s->request_id, request_id != NULL ? request_id : "", n);
	s->request_id[n] = '\0';
	scoreboard_write_end(s);
}

void
scoreboard_request_end(void)
{
	struct scoreboard_slot *s = sb_self;

	if (s == NULL)
		return;
	ADD(&s->requests, 1);
	STORE(&s->state, SCOREBOARD_IDLE);
	scoreboard_write_begin(s);
	STORE(&s->req_start_ms, 0);
	scoreboard_write_end(s);
}

void
scoreboard_count_mysql_error(void)
{
	if (sb != NULL)
		ADD(&sb->pool.mysql_errors, 1);
}

void
scoreboard_count_kafka_failures(uint64_t n)
{
	if (sb != NULL && n > 0)
		ADD(&sb->pool.kafka_failures, n);
}

struct metrics_route *
scoreboard_route(int idx)
{
	if (sb == NULL || idx < 0 || idx >= SCOREBOARD_ROUTES)
		return NULL;
	return &sb->route[idx];
}

int
scoreboard_read(int idx, struct scoreboard_view *v)
{
	struct scoreboard_slot *s;
	int tries;

	if (sb == NULL || idx < 0 || idx >= SCOREBOARD_SLOTS)
		return -1;
	s = &sb->slot[idx];
	memset(v, 0, sizeof(*v));
	v->state = (enum scoreboard_state)LOAD(&s->state);
	if (v->state == SCOREBOARD_FREE)
		return -1;
	v->pid = LOAD(&s->pid);
	v->retiring = LOAD(&s->retiring);
	v->requests = LOAD(&s->requests);
	v->accepted = LOAD(&s->accepted);
	/* The request fields: retry while the worker rewrites them; after a
	 * few tries report "no request" rather than a mix of two. */
	for (tries = 0; tries < 4; tries++) {
		uint32_t s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1)
			continue;
		v->req_start_ms = LOAD(&s->req_start_ms);
		v->route = LOAD(&s->route);
		v->method = LOAD(&s->method);
		memcpy(v->request_id, s->request_id, sizeof(v->request_id));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = LOAD(&s->seq);
		if (s1 == s2) {
			v->request_id[sizeof(v->request_id) - 1] = '\0';
			return 0;
		}
	}
	v->req_start_ms = 0;
	v->route = -1;
	v->request_id[0] = '\0';
	return 0;
}

const char *
scoreboard_state_name(enum scoreboard_state st)
{
	switch (st) {
	case SCOREBOARD_STARTING: return "starting";
	case SCOREBOARD_IDLE: return "idle";
	case SCOREBOARD_BUSY: return "busy";
	case SCOREBOARD_EXITING: return "exiting";
	default: return "free";
	}
}

/* Accept-queue length of a listening unix socket, by its inode. */
static int
scoreboard_unix_queue(ino_t ino, long *len, long *max)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req udr;
	} req;
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr nlh;
		char buf[8192];
	} resp;
	struct nlmsghdr *h;
	ssize_t n;
	int fd, rc = -1;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd == -1)
		return -1;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;   /* one socket, no dump */
	req.udr.sdiag_family = AF_UNIX;
	req.udr.udiag_states = 1U << SCOREBOARD_TCP_LISTEN;
	req.udr.udiag_ino = (uint32_t)ino;
	req.udr.udiag_show = UDIAG_SHOW_RQLEN;
	req.udr.udiag_cookie[0] = SCOREBOARD_NOCOOKIE;
	req.udr.udiag_cookie[1] = SCOREBOARD_NOCOOKIE;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nladdr,
	    sizeof(nladdr)) != (ssize_t)sizeof(req))
		goto out;
	do
		n = recv(fd, resp.buf, sizeof(resp.buf), 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		goto out;
	for (h = &resp.nlh; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		struct unix_diag_msg *msg;
		struct rtattr *a;
		int alen;

		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			goto out;     /* NLMSG_ERROR: no such socket, or EPERM */
		msg = NLMSG_DATA(h);
		alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*msg)));
		for (a = (struct rtattr *)(msg + 1); RTA_OK(a, alen);
		    a = RTA_NEXT(a, alen)) {
			struct unix_diag_rqlen *q;

			if (a->rta_type != UNIX_DIAG_RQLEN ||
			    RTA_PAYLOAD(a) < sizeof(*q))
				continue;
			/* For a listener: connections not yet accepted, and
			 * the backlog limit. */
			q = RTA_DATA(a);
			*len = q->udiag_rqueue;
			*max = q->udiag_wqueue;
			rc = 0;
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

int
scoreboard_listen_queue(long *len, long *max)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stat st;

	*len = *max = -1;
	if (sb_listen_fd < 0 ||
	    getsockname(sb_listen_fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	if (ss.ss_family == AF_UNIX) {
		if (fstat(sb_listen_fd, &st) == -1)
			return -1;
		return scoreboard_unix_queue(st.st_ino, len, max);
	}
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		/* On a listener tcpi_unacked is the accept queue's length
		 * and tcpi_sacked its limit. */
		if (getsockopt(sb_listen_fd, IPPROTO_TCP, TCP_INFO, &ti, &tl)
		    == -1)
			return -1;
		*len = ti.tcpi_unacked;
		*max = ti.tcpi_sacked;
		return 0;
	}
	return -1;
}

/* --- queue counters --- */

#define QW SCOREBOARD_QUEUE_WINDOW

const unsigned char *
scoreboard_queue_key(void)
{
	static const unsigned char zero[SCOREBOARD_QUEUE_KEY];

	if (sb == NULL || memcmp(sb->queue.key, zero, sizeof(zero)) == 0)
		return NULL;
	return sb->queue.key;
}

/* Concert's line, taking the first free one when claim is set; NULL when
 * it has none (and none could be taken). */
static struct scoreboard_queue_line *
scoreboard_queue_line(int concert, int claim)
{
	int i;

	if (sb == NULL || concert < 1)
		return NULL;
	for (i = 0; i < SCOREBOARD_QUEUES; i++) {
		struct scoreboard_queue_line *l = &sb->queue.line[i];
		int32_t c = __atomic_load_n(&l->concert, __ATOMIC_ACQUIRE);

		if (c == concert)
			return l;
		if (c != 0)
			continue;
		/* The first free line ends the search: lines are taken in
		 * order and never freed. */
		if (!claim)
			return NULL;
		if (__atomic_compare_exchange_n(&l->concert, &c, concert, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return l;
		if (c == concert)     /* another worker took it for us */
			return l;
	}
	return NULL;
}

int
scoreboard_queue_lease(int concert, int64_t now_ms, int64_t stale_ms,
    int64_t hold_ms)
{
	struct scoreboard_queue_line *q;
	int64_t until;

	if ((q = scoreboard_queue_line(concert, 1)) == NULL)
		return 0;
	if (LOAD(&q->refreshed_ms) != 0 &&
	    now_ms - LOAD(&q->refreshed_ms) < stale_ms)
		return 0;
	until = LOAD(&q->lease_until_ms);
	if (until > now_ms)
		return 0;             /* someone is refreshing */
	if (!__atomic_compare_exchange_n(&q->lease_until_ms, &until,
	    now_ms + hold_ms, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return 0;
	STORE(&q->lease_pid, (int32_t)getpid());
	return 1;
}

void
scoreboard_queue_unlease(int concert)
{
	struct scoreboard_queue_line *q = scoreboard_queue_line(concert, 0);

	if (q != NULL)
		STORE(&q->lease_until_ms, 0);
}

int
scoreboard_queue_publish(int concert, int64_t serving, double rate,
    int64_t max_active, const int64_t *left, size_t nleft, int64_t now_ms)
{
	struct scoreboard_queue_line *q;
	uint32_t s;
	int64_t old, i;
	size_t k;

	if ((q = scoreboard_queue_line(concert, 1)) == NULL)
		return -1;
	s = LOAD(&q->seq);
	if ((s & 1) || !__atomic_compare_exchange_n(&q->seq, &s, s + 1, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return -1;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	old = LOAD(&q->serving_seq);
	if (serving > old) {
		/* The bits of the seqs serving_seq passes are reused for the
		 * seqs a window further on: clear them. */
		if (serving - old >= QW)
			for (k = 0; k < QW / 64; k++)
				STORE(&q->left[k], 0);
		else
			for (i = old + 1; i <= serving; i++)
				__atomic_fetch_and(&q->left[(i % QW) / 64],
				    ~(1ULL << (i % 64)), __ATOMIC_RELAXED);
		STORE(&q->serving_seq, serving);
	} else {
		serving = old;
	}
	for (k = 0; k < nleft; k++)
		if (left[k] > serving && left[k] <= serving + QW)
			__atomic_fetch_or(&q->left[(left[k] % QW) / 64],
			    1ULL << (left[k] % 64), __ATOMIC_RELAXED);
	__atomic_store(&q->admit_rate, &rate, __ATOMIC_RELAXED);
	STORE(&q->max_active, max_active);
	STORE(&q->refreshed_ms, now_ms);
	ADD(&q->refreshes, 1);
	__atomic_store_n(&q->seq, s + 2, __ATOMIC_RELEASE);
	STORE(&q->lease_until_ms, 0);
	return 0;
}

void
scoreboard_queue_mark_left(int concert, int64_t seq)
{
	struct scoreboard_queue_line *q;
	int64_t serving;

	if ((q = scoreboard_queue_line(concert, 0)) == NULL)
		return;
	serving = LOAD(&q->serving_seq);
	if (seq > serving && seq <= serving + QW)
		__atomic_fetch_or(&q->left[(seq % QW) / 64], 1ULL << (seq % 64),
		    __ATOMIC_RELAXED);
}

int
scoreboard_queue_read(int concert, int64_t seq, int64_t now_ms,
    struct scoreboard_queue_view *v)
{
	struct scoreboard_queue_line *q;
	int tries;

	if ((q = scoreboard_queue_line(concert, 0)) == NULL)
		return -1;
	for (tries = 0; tries < 8; tries++) {
		uint32_t s1 = __atomic_load_n(&q->seq, __ATOMIC_ACQUIRE), s2;
		int64_t at;

		if (s1 & 1)
			continue;
		at = LOAD(&q->refreshed_ms);
		if (at == 0)
			return -1;
		v->serving_seq = LOAD(&q->serving_seq);
		v->max_active = LOAD(&q->max_active);
		__atomic_load(&q->admit_rate, &v->admit_rate, __ATOMIC_RELAXED);
		v->age_ms = now_ms - at;
		if (seq > v->serving_seq && seq <= v->serving_seq + QW)
			v->left = (LOAD(&q->left[(seq % QW) / 64]) >>
			    (seq % 64)) & 1;
		else
			v->left = -1;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = LOAD(&q->seq);
		if (s1 == s2)
			return 0;
	}
	return -1;
}

void
scoreboard_queue_seen(int concert, int64_t seq, uint32_t now_s,
    uint32_t every_s)
{
	struct scoreboard_queue_line *l;
	uint32_t *t;
	uint64_t idx;

	if (sb == NULL || seq < 1)
		return;
	/* A concert without a line here (all taken) is queued at every poll:
	 * its seen_at must still be written. */
	if ((l = scoreboard_queue_line(concert, 0)) != NULL) {
		t = &l->touched[seq % QW];
		if (LOAD(t) != 0 && now_s - LOAD(t) < every_s)
			return;
		STORE(t, now_s == 0 ? 1 : now_s);
	}
	/* A full ring overwrites the oldest entries: that seq's seen_at is
	 * then late by one interval, never wrong the other way. */
	idx = ADD(&sb->queue.seen_head, 1);
	STORE(&sb->queue.seen[idx % SCOREBOARD_QUEUE_SEEN],
	    SCOREBOARD_QUEUE_SEEN_KEY(concert, seq));
}

size_t
scoreboard_queue_take_seen(int64_t *out, size_t max)
{
	struct scoreboard_queue *q;
	uint64_t tail, head;
	size_t n = 0;

	if (sb == NULL)
		return 0;
	q = &sb->queue;
	tail = LOAD(&q->seen_tail);
	head = LOAD(&q->seen_head);
	if (head - tail > SCOREBOARD_QUEUE_SEEN)
		tail = head - SCOREBOARD_QUEUE_SEEN;     /* lapped: skip ahead */
	while (tail < head && n < max) {
		int64_t v = __atomic_exchange_n(
		    &q->seen[tail % SCOREBOARD_QUEUE_SEEN], 0, __ATOMIC_RELAXED);

		if (v == 0)
			break;        /* its writer has not stored it yet */
		out[n++] = v;
		tail++;
	}
	STORE(&q->seen_tail, tail);
	return n;
}

void
scoreboard_queue_count_poll(void)
{
	if (sb != NULL)
		ADD(&sb->queue.polls_shm, 1);
}

int
scoreboard_queue_has_line(int concert)
{
	return scoreboard_queue_line(concert, 0) != NULL;
}

void
scoreboard_queue_count_overflow(void)
{
	if (sb != NULL)
		ADD(&sb->queue.polls_overflow, 1);
}
