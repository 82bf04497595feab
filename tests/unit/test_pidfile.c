/* Unit tests: pidfile (one liveness rule for concertd and the consumer). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pidfile.h"

static char dir[64], path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/concert-pid-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.pid", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(pidfile, .init = setup, .fini = teardown);

static void
put(const char *text)
{
	FILE *fp = fopen(path, "w");

	cr_assert_not_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A child that sleeps under the given task name until killed. */
static pid_t
named_child(const char *name)
{
	int p[2];
	pid_t pid;
	char c;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		prctl(PR_SET_NAME, name);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	cr_assert_gt(pid, 0);
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1);   /* renamed by now */
	close(p[0]);
	return pid;
}

static void
reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static long
file_pid(void)
{
	char buf[32] = "";
	FILE *fp = fopen(path, "r");

	cr_assert_not_null(fp);
	cr_assert_not_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	return strtol(buf, NULL, 10);
}

Test(pidfile, create_writes_our_pid_with_a_newline)
{
	char err[256], buf[32] = "";
	FILE *fp;

	cr_assert_eq(pidfile_create(path, "concertd", err, sizeof(err)), 0, "%s", err);
	fp = fopen(path, "r");
	cr_assert_not_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	cr_assert_eq(strtol(buf, NULL, 10), (long)getpid());
	cr_assert_eq(buf[strlen(buf) - 1], '\n');
}

Test(pidfile, read_accepts_only_a_plain_positive_number)
{
	static const struct { const char *text; pid_t want; } t[] = {
		{ "1234\n", 1234 }, { "1234", 1234 }, { "", 0 }, { "\n", 0 },
		{ "abc\n", 0 }, { "12ab\n", 0 }, { "-5\n", 0 }, { "0\n", 0 },
		{ " 12\n", 0 }, { "99999999999\n", 0 }, { "12\n34\n", 0 },
	};
	size_t i;

	cr_assert_eq(pidfile_read(path), 0);       /* missing */
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		put(t[i].text);
		cr_assert_eq(pidfile_read(path), t[i].want, "'%s'", t[i].text);
	}
}

Test(pidfile, live_process_of_the_same_program_refuses)
{
	pid_t child = named_child("concertd");
	char text[32], err[256];

	snprintf(text, sizeof(text), "%d\n", (int)child);
	put(text);
	cr_assert_eq(pidfile_create(path, "concertd", err, sizeof(err)), -1);
	cr_assert(strstr(err, "names a running concertd") != NULL, "%s", err);
	cr_assert_eq(file_pid(), child);           /* left alone */
	reap(child);
}

Test(pidfile, long_program_names_compare_as_the_kernel_truncates_them)
{
	pid_t child = named_child("concert-consumer");  /* kept: "concert-consume" */

	cr_assert(pidfile_alive(child, "concert-consumer"));
	cr_assert(!pidfile_alive(child, "concert"));
	reap(child);
}

Test(pidfile, pid_reused_by_another_program_is_stale)
{
	pid_t child = named_child("sleepy");
	char text[32], err[256];

	snprintf(text, sizeof(text), "%d\n", (int)child);
	put(text);
	cr_assert(!pidfile_alive(child, "concertd"));
	cr_assert_eq(pidfile_create(path, "concertd", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(file_pid(), getpid());
	reap(child);
}

Test(pidfile, dead_pid_is_stale)
{
	pid_t child = named_child("concertd");
	char text[32], err[256];

	reap(child);
	snprintf(text, sizeof(text), "%d\n", (int)child);
	put(text);
	cr_assert_eq(pidfile_create(path, "concertd", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(file_pid(), getpid());
}

Test(pidfile, zombie_is_stale)
{
	pid_t child = named_child("concertd");
	char text[32], err[256], st[64];
	int i;

	kill(child, SIGKILL);
	/* Not reaped: wait until the kernel shows it as a zombie. */
	for (i = 0; i < 200; i++) {
		FILE *fp;
		char line[256] = "";

		snprintf(st, sizeof(st), "/proc/%d/stat", (int)child);
		if ((fp = fopen(st, "r")) != NULL) {
			cr_assert_not_null(fgets(line, sizeof(line), fp));
			fclose(fp);
			if (strstr(line, ") Z ") != NULL)
				break;
		}
		usleep(10000);
	}
	cr_assert_lt(i, 200, "child never became a zombie");
	cr_assert_eq(kill(child, 0), 0);           /* kill(0) alone says alive */
	snprintf(text, sizeof(text), "%d\n", (int)child);
	put(text);
	cr_assert(!pidfile_alive(child, "concertd"));
	cr_assert_eq(pidfile_create(path, "concertd", err, sizeof(err)), 0, "%s", err);
	waitpid(child, NULL, 0);
}

Test(pidfile, garbage_file_is_replaced)
{
	char err[256];

	put("not a pid\n");
	cr_assert_eq(pidfile_create(path, "concertd", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(file_pid(), getpid());
}

Test(pidfile, our_own_pid_is_stale)
{
	char text[32], err[256];

	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	put(text);
	cr_assert(!pidfile_alive(getpid(), "test_pidfile"));
	cr_assert_eq(pidfile_create(path, "test_pidfile", err, sizeof(err)), 0,
	    "%s", err);
}

Test(pidfile, remove_only_deletes_a_file_naming_us)
{
	char err[256];

	put("1\n");                                /* a successor's */
	pidfile_remove(path);
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert_eq(pidfile_create(path, "concertd", err, sizeof(err)), 0, "%s", err);
	pidfile_remove(path);
	cr_assert_eq(access(path, F_OK), -1);
}

Test(pidfile, unwritable_directory_is_an_error_naming_the_path)
{
	char err[256];

	cr_assert_eq(pidfile_create("/nonexistent/x.pid", "concertd", err,
	    sizeof(err)), -1);
	cr_assert(strstr(err, "'/nonexistent/x.pid'") != NULL, "%s", err);
}
