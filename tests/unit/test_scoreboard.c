/*
 * Unit tests: the scoreboard (src/scoreboard.c) -- slots, counters, route
 * names, and the seqlock over a slot's request fields: a reader never sees
 * a torn record, even while a worker in another process rewrites it.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scoreboard.h"

static void
create(void)
{
	char err[256];

	cr_assert_eq(scoreboard_create(err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(scoreboard_get());
}

Test(scoreboard, slots_are_free_until_allocated)
{
	struct scoreboard_view v;
	int a, b;

	create();
	cr_assert_eq(scoreboard_read(0, &v), -1);
	a = scoreboard_slot_alloc();
	b = scoreboard_slot_alloc();
	cr_assert_eq(a, 0);
	cr_assert_eq(b, 1);
	cr_assert_eq(scoreboard_get()->pool.slots_used, 2);
	cr_assert_eq(scoreboard_read(a, &v), 0);
	cr_assert_eq(v.state, SCOREBOARD_STARTING);
	cr_assert_eq(v.route, -1);
	/* the lowest free slot is reused; slots_used never shrinks */
	scoreboard_slot_free(a);
	cr_assert_eq(scoreboard_read(a, &v), -1);
	cr_assert_eq(scoreboard_slot_alloc(), a);
	cr_assert_eq(scoreboard_get()->pool.slots_used, 2);
	cr_assert_eq(scoreboard_read(-1, &v), -1);
	cr_assert_eq(scoreboard_read(SCOREBOARD_SLOTS, &v), -1);
}

Test(scoreboard, every_slot_can_be_taken_then_none)
{
	int i;

	create();
	for (i = 0; i < SCOREBOARD_SLOTS; i++)
		cr_assert_eq(scoreboard_slot_alloc(), i);
	cr_assert_eq(scoreboard_slot_alloc(), -1);
}

Test(scoreboard, a_request_through_its_slot)
{
	struct scoreboard_view v;
	int idx;

	create();
	idx = scoreboard_slot_alloc();
	scoreboard_attach(idx, -1);
	scoreboard_set_state(SCOREBOARD_IDLE);
	scoreboard_request_begin(1234);
	cr_assert_eq(scoreboard_read(idx, &v), 0);
	cr_assert_eq(v.state, SCOREBOARD_BUSY);
	cr_assert_eq(v.pid, getpid());
	cr_assert_eq(v.req_start_ms, 1234);
	cr_assert_eq(v.route, -1);
	cr_assert_str_eq(v.request_id, "");
	cr_assert_eq(v.accepted, 1);
	scoreboard_request_route(3, 2, "rid-1");
	cr_assert_eq(scoreboard_read(idx, &v), 0);
	cr_assert_eq(v.route, 3);
	cr_assert_eq(v.method, 2);
	cr_assert_str_eq(v.request_id, "rid-1");
	scoreboard_request_end();
	cr_assert_eq(scoreboard_read(idx, &v), 0);
	cr_assert_eq(v.state, SCOREBOARD_IDLE);
	cr_assert_eq(v.req_start_ms, 0);
	cr_assert_eq(v.requests, 1);
	cr_assert_eq(scoreboard_get()->pool.accepted, 1);
}

Test(scoreboard, long_request_id_is_truncated)
{
	struct scoreboard_view v;
	char rid[200];
	int idx;

	create();
	memset(rid, 'r', sizeof(rid) - 1);
	rid[sizeof(rid) - 1] = '\0';
	idx = scoreboard_slot_alloc();
	scoreboard_attach(idx, -1);
	scoreboard_request_begin(1);
	scoreboard_request_route(0, 0, rid);
	cr_assert_eq(scoreboard_read(idx, &v), 0);
	cr_assert_eq(strlen(v.request_id), SCOREBOARD_RID_LEN - 1);
	scoreboard_request_route(0, 0, NULL);
	cr_assert_eq(scoreboard_read(idx, &v), 0);
	cr_assert_str_eq(v.request_id, "");
}

/* Without a free slot the worker writes a private one nobody reads. */
Test(scoreboard, no_slot_is_a_private_slot)
{
	struct scoreboard_view v;

	create();
	scoreboard_attach(-1, -1);
	scoreboard_request_begin(5);
	scoreboard_request_route(1, 1, "x");
	scoreboard_request_end();
	cr_assert_eq(scoreboard_read(0, &v), -1);
	cr_assert_eq(scoreboard_get()->pool.accepted, 1);
}

Test(scoreboard, worker_calls_before_attach_are_no_ops)
{
	scoreboard_request_begin(1);
	scoreboard_request_route(1, 1, "x");
	scoreboard_request_end();
	scoreboard_count_mysql_error();
	cr_assert_null(scoreboard_get());
	cr_assert_null(scoreboard_route(0));
	cr_assert_str_eq(scoreboard_route_name(0), "-");
	cr_assert_eq(scoreboard_routes_named(), 0);
}

Test(scoreboard, pool_counters)
{
	struct scoreboard *sb;

	create();
	sb = scoreboard_get();
	scoreboard_count_mysql_error();
	scoreboard_count_mysql_error();
	scoreboard_count_kafka_failures(0);
	scoreboard_count_kafka_failures(3);
	cr_assert_eq(sb->pool.mysql_errors, 2);
	cr_assert_eq(sb->pool.kafka_failures, 3);
	scoreboard_set_workers_wanted(7);
	cr_assert_eq(sb->pool.workers_wanted, 7);
	cr_assert_not_null(scoreboard_route(SCOREBOARD_ROUTES - 1));
	cr_assert_null(scoreboard_route(SCOREBOARD_ROUTES));
	cr_assert_null(scoreboard_route(-1));
}

static const char *
test_name(int idx)
{
	static const char *const names[] = { "ping", "hold",
	    "a_name_far_longer_than_the_scoreboard_keeps_of_it" };

	return names[idx % 3];
}

Test(scoreboard, route_names_are_copied_in)
{
	create();
	cr_assert_str_eq(scoreboard_route_name(0), "-");
	scoreboard_name_routes(test_name, 3);
	cr_assert_eq(scoreboard_routes_named(), 3);
	cr_assert_str_eq(scoreboard_route_name(0), "ping");
	cr_assert_str_eq(scoreboard_route_name(1), "hold");
	cr_assert_eq(strlen(scoreboard_route_name(2)), SCOREBOARD_NAME_LEN - 1);
	cr_assert_str_eq(scoreboard_route_name(3), "-");
	cr_assert_str_eq(scoreboard_route_name(-1), "-");
	/* more than there is room for: cut to SCOREBOARD_ROUTES */
	scoreboard_name_routes(test_name, SCOREBOARD_ROUTES + 5);
	cr_assert_eq(scoreboard_routes_named(), SCOREBOARD_ROUTES);
	cr_assert_str_eq(scoreboard_route_name(SCOREBOARD_ROUTES - 1),
	    test_name(SCOREBOARD_ROUTES - 1));
}

/* Names copied before fork() are what the children read. */
Test(scoreboard, route_names_cross_fork)
{
	pid_t pid;
	int st;

	create();
	scoreboard_name_routes(test_name, 2);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0)
		_exit(strcmp(scoreboard_route_name(1), "hold") == 0 ? 0 : 1);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

Test(scoreboard, state_names)
{
	cr_assert_str_eq(scoreboard_state_name(SCOREBOARD_STARTING), "starting");
	cr_assert_str_eq(scoreboard_state_name(SCOREBOARD_IDLE), "idle");
	cr_assert_str_eq(scoreboard_state_name(SCOREBOARD_BUSY), "busy");
	cr_assert_str_eq(scoreboard_state_name(SCOREBOARD_EXITING), "exiting");
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The seqlock.  A worker in a forked child rewrites its slot's request
 * fields as fast as it can, each record self-consistent: record i has
 * route i, method i % 7 and a request id of 63 copies of 'a' + i % 26.
 * The parent reads the slot meanwhile.  Every copy it gets must be one
 * record whole (or "no request" when the retries ran out), never a mix.
 */
Test(scoreboard, reader_never_sees_a_torn_record)
{
	volatile int *stop;
	struct scoreboard_view v;
	long whole = 0, gave_up = 0, n;
	double t0 = now_s();
	pid_t pid;
	int idx, st;

	create();
	stop = mmap(NULL, sizeof(*stop), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq((void *)stop, MAP_FAILED);
	*stop = 0;
	idx = scoreboard_slot_alloc();
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		char rid[SCOREBOARD_RID_LEN];
		int i;

		/* A failed assert ends the parent: the writer must not
		 * outlive it (Criterion waits for its pipes). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		alarm(30);
		scoreboard_attach(idx, -1);
		scoreboard_request_begin(1);
		for (i = 0; !__atomic_load_n(stop, __ATOMIC_RELAXED); i++) {
			i &= 0x3fffffff;
			memset(rid, 'a' + i % 26, sizeof(rid) - 1);
			rid[sizeof(rid) - 1] = '\0';
			scoreboard_request_route(i, i % 7, rid);
		}
		_exit(0);
	}
	/* until the child wrote its first record */
	for (n = 0; n < 5000; n++) {
		cr_assert_eq(scoreboard_read(idx, &v), 0);
		if (v.route != -1)
			break;
		usleep(1000);
	}
	cr_assert_neq(v.route, -1, "the writer never started");
	for (n = 0; whole < 20000 && now_s() - t0 < 10; n++) {
		size_t j, len;

		cr_assert_eq(scoreboard_read(idx, &v), 0);
		if (v.route == -1) {
			/* the retries ran out: "no request", never a mix */
			cr_assert_str_eq(v.request_id, "");
			gave_up++;
			continue;
		}
		len = strlen(v.request_id);
		cr_assert_eq(len, SCOREBOARD_RID_LEN - 1, "torn id length %zu", len);
		for (j = 0; j < len; j++)
			cr_assert_eq(v.request_id[j], 'a' + v.route % 26,
			    "record %d: torn request id %s", v.route, v.request_id);
		cr_assert_eq(v.method, v.route % 7, "record %d: method %d",
		    v.route, v.method);
		whole++;
	}
	__atomic_store_n(stop, 1, __ATOMIC_RELAXED);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_gt(whole, 0, "no whole record in %ld reads (%ld gave up)", n,
	    gave_up);
	munmap((void *)stop, sizeof(*stop));
}

/* The master's view across processes: a record written by the child is
 * read whole by the parent once the child is done. */
Test(scoreboard, parent_reads_what_the_child_wrote)
{
	struct scoreboard_view v;
	pid_t pid;
	int idx, st;

	create();
	idx = scoreboard_slot_alloc();
	scoreboard_slot_pid(idx, 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		scoreboard_attach(idx, -1);
		scoreboard_request_begin(77);
		scoreboard_request_route(4, 1, "from-the-child");
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(scoreboard_read(idx, &v), 0);
	cr_assert_eq(v.pid, pid);
	cr_assert_eq(v.state, SCOREBOARD_BUSY);
	cr_assert_eq(v.req_start_ms, 77);
	cr_assert_eq(v.route, 4);
	cr_assert_str_eq(v.request_id, "from-the-child");
	scoreboard_slot_retire(idx);
	cr_assert_eq(scoreboard_read(idx, &v), 0);
	cr_assert_eq(v.retiring, 1);
}

/* --- the queue counters (issue 10) --- */

Test(scoreboard_queue, nothing_is_known_before_the_first_refresh)
{
	struct scoreboard_queue_view v;

	create();
	cr_assert_eq(scoreboard_queue_read(1, 5, 1000, &v), -1);
	cr_assert_not_null(scoreboard_queue_key());
}

Test(scoreboard_queue, one_refresher_at_a_time_and_only_when_due)
{
	create();
	cr_assert_eq(scoreboard_queue_lease(1, 1000, 200, 2000), 1);
	cr_assert_eq(scoreboard_queue_lease(1, 1001, 200, 2000), 0, "leased");
	cr_assert_eq(scoreboard_queue_publish(1, 10, 2.5, 100, NULL, 0, 1002), 0);
	cr_assert_eq(scoreboard_queue_lease(1, 1100, 200, 2000), 0, "fresh");
	cr_assert_eq(scoreboard_queue_lease(1, 1300, 200, 2000), 1, "due");
	scoreboard_queue_unlease(1);
	/* A lease that outlived its holder is taken over. */
	cr_assert_eq(scoreboard_queue_lease(1, 1301, 200, 2000), 1);
	cr_assert_eq(scoreboard_queue_lease(1, 3400, 200, 2000), 1);
}

Test(scoreboard_queue, publish_then_read)
{
	struct scoreboard_queue_view v;
	int64_t left[] = { 12, 15, 3 /* below serving: ignored */ };

	create();
	cr_assert_eq(scoreboard_queue_publish(1, 10, 2.5, 100, left, 3, 1000), 0);
	cr_assert_eq(scoreboard_queue_read(1, 11, 1150, &v), 0);
	cr_assert_eq(v.serving_seq, 10);
	cr_assert_eq(v.max_active, 100);
	cr_assert_float_eq(v.admit_rate, 2.5, 1e-9);
	cr_assert_eq(v.age_ms, 150);
	cr_assert_eq(v.left, 0);
	cr_assert_eq(scoreboard_queue_read(1, 12, 1150, &v), 0);
	cr_assert_eq(v.left, 1);
	cr_assert_eq(scoreboard_queue_read(1, 10, 1150, &v), 0);
	cr_assert_eq(v.left, -1, "at serving: the database decides");
	cr_assert_eq(scoreboard_queue_read(1, 10 + SCOREBOARD_QUEUE_WINDOW + 1,
	    1150, &v), 0);
	cr_assert_eq(v.left, -1, "beyond the window");
}

Test(scoreboard_queue, serving_only_moves_forward_and_clears_what_it_passes)
{
	struct scoreboard_queue_view v;
	int64_t left[] = { 12 };
	int64_t reused = 12 + SCOREBOARD_QUEUE_WINDOW;

	create();
	cr_assert_eq(scoreboard_queue_publish(1, 10, 1, 1, left, 1, 1000), 0);
	cr_assert_eq(scoreboard_queue_publish(1, 20, 1, 1, NULL, 0, 1200), 0);
	/* seq 12's bit now stands for 12 + WINDOW, which did not leave. */
	cr_assert_eq(scoreboard_queue_read(1, reused, 1200, &v), 0);
	cr_assert_eq(v.left, 0);
	cr_assert_eq(scoreboard_queue_publish(1, 15, 1, 1, NULL, 0, 1400), 0);
	cr_assert_eq(scoreboard_queue_read(1, 16, 1400, &v), 0);
	cr_assert_eq(v.serving_seq, 20);
}

Test(scoreboard_queue, a_leaver_marked_by_its_host_reads_left_at_once)
{
	struct scoreboard_queue_view v;

	create();
	cr_assert_eq(scoreboard_queue_publish(1, 10, 1, 1, NULL, 0, 1000), 0);
	scoreboard_queue_mark_left(1, 11);
	scoreboard_queue_mark_left(1, 5);          /* below serving: no-op */
	cr_assert_eq(scoreboard_queue_read(1, 11, 1000, &v), 0);
	cr_assert_eq(v.left, 1);
	cr_assert_eq(scoreboard_queue_read(1, 13, 1000, &v), 0);
	cr_assert_eq(v.left, 0);
}

Test(scoreboard_queue, seen_without_a_line_is_queued_at_every_poll)
{
	int64_t out[8];

	create();
	scoreboard_queue_seen(1, 7, 100, 10);
	scoreboard_queue_seen(1, 7, 105, 10);   /* no line: no interval */
	cr_assert_eq(scoreboard_queue_take_seen(out, 8), 2);
	cr_assert_eq(scoreboard_queue_take_seen(out, 8), 0);
}

Test(scoreboard_queue, seen_marks_once_per_interval_and_drain_in_order)
{
	int64_t out[8];

	create();
	cr_assert_eq(scoreboard_queue_publish(1, 0, 1, 1, NULL, 0, 50), 0);
	cr_assert_eq(scoreboard_queue_publish(2, 0, 1, 1, NULL, 0, 50), 0);
	scoreboard_queue_seen(1, 7, 100, 10);
	scoreboard_queue_seen(1, 7, 105, 10);   /* too soon: not again */
	scoreboard_queue_seen(1, 8, 105, 10);
	scoreboard_queue_seen(2, 7, 105, 10);   /* another line's 7 */
	scoreboard_queue_seen(1, 7, 110, 10);   /* an interval later */
	cr_assert_eq(scoreboard_queue_take_seen(out, 8), 4);
	cr_assert_eq(out[0], SCOREBOARD_QUEUE_SEEN_KEY(1, 7));
	cr_assert_eq(out[1], SCOREBOARD_QUEUE_SEEN_KEY(1, 8));
	cr_assert_eq(out[2], SCOREBOARD_QUEUE_SEEN_KEY(2, 7));
	cr_assert_eq(SCOREBOARD_QUEUE_SEEN_CONCERT(out[2]), 2);
	cr_assert_eq(SCOREBOARD_QUEUE_SEEN_SEQ(out[2]), 7);
	cr_assert_eq(out[3], SCOREBOARD_QUEUE_SEEN_KEY(1, 7));
	cr_assert_eq(scoreboard_queue_take_seen(out, 8), 0);
}

/* Issue 12: each concert has its own counters. */
Test(scoreboard_queue, concerts_have_separate_lines)
{
	struct scoreboard_queue_view v;

	create();
	cr_assert_eq(scoreboard_queue_publish(1, 10, 1, 5, NULL, 0, 1000), 0);
	cr_assert_eq(scoreboard_queue_publish(3, 40, 2, 7, NULL, 0, 1000), 0);
	scoreboard_queue_mark_left(3, 41);
	cr_assert_eq(scoreboard_queue_read(1, 41, 1000, &v), 0);
	cr_assert_eq(v.serving_seq, 10);
	cr_assert_eq(v.max_active, 5);
	cr_assert_eq(v.left, 0, "concert 3's leaver is not concert 1's");
	cr_assert_eq(scoreboard_queue_read(3, 41, 1000, &v), 0);
	cr_assert_eq(v.serving_seq, 40);
	cr_assert_eq(v.left, 1);
	cr_assert_eq(scoreboard_queue_read(2, 41, 1000, &v), -1, "no line");
}

Test(scoreboard_queue, a_concert_beyond_the_lines_is_refused)
{
	struct scoreboard_queue_view v;
	int c;

	create();
	for (c = 1; c <= SCOREBOARD_QUEUES; c++)
		cr_assert_eq(scoreboard_queue_lease(c, 1000, 200, 2000), 1);
	cr_assert_eq(scoreboard_queue_lease(SCOREBOARD_QUEUES + 1, 1000, 200,
	    2000), 0);
	cr_assert_eq(scoreboard_queue_publish(SCOREBOARD_QUEUES + 1, 1, 1, 1,
	    NULL, 0, 1000), -1);
	cr_assert_eq(scoreboard_queue_read(SCOREBOARD_QUEUES + 1, 5, 1000, &v),
	    -1);
	/* Its polls still reach seen_at. */
	scoreboard_queue_seen(SCOREBOARD_QUEUES + 1, 5, 100, 10);
	scoreboard_queue_seen(SCOREBOARD_QUEUES + 1, 5, 101, 10);
	cr_assert_eq(scoreboard_queue_take_seen((int64_t[4]){ 0 }, 4), 2);
}
