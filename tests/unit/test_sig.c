/* Unit tests: sig (flag handlers). */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include "sig.h"

static const int usr[] = { SIGUSR1, SIGUSR2 };

Test(sig, a_caught_signal_sets_its_flag_until_taken)
{
	cr_assert_eq(sig_catch(usr, SIG_COUNT(usr)), 0);
	cr_assert(!sig_caught(SIGUSR1));
	raise(SIGUSR1);
	cr_assert(sig_caught(SIGUSR1));
	cr_assert(sig_caught(SIGUSR1));            /* looking keeps it */
	cr_assert(!sig_caught(SIGUSR2));
	cr_assert_eq(sig_take(SIGUSR1), 1);
	cr_assert_eq(sig_take(SIGUSR1), 0);
}

Test(sig, a_blocked_signal_waits_for_the_unblock)
{
	sigset_t none;

	cr_assert_eq(sig_catch(usr, SIG_COUNT(usr)), 0);
	cr_assert_eq(sig_mask(SIG_BLOCK, usr, 1), 0);
	raise(SIGUSR1);
	cr_assert(!sig_caught(SIGUSR1));
	/* As the loops do: unblocked only inside the wait. */
	sigemptyset(&none);
	cr_assert_eq(ppoll(NULL, 0, &(struct timespec){ 1, 0 }, &none), -1);
	cr_assert(sig_take(SIGUSR1));
}

Test(sig, take_any_returns_the_first_in_list_order_and_clears_all)
{
	cr_assert_eq(sig_catch(usr, SIG_COUNT(usr)), 0);
	raise(SIGUSR2);
	raise(SIGUSR1);
	cr_assert_eq(sig_take_any(usr, SIG_COUNT(usr)), SIGUSR1);
	cr_assert_eq(sig_take_any(usr, SIG_COUNT(usr)), 0);
}

static volatile sig_atomic_t hooked;

static void
hook(int signo)
{
	hooked = signo;
}

Test(sig, the_hook_runs_in_the_handler)
{
	sig_hook(hook);
	cr_assert_eq(sig_catch(usr, 1), 0);
	raise(SIGUSR1);
	cr_assert_eq(hooked, SIGUSR1);
	sig_hook(NULL);
}

Test(sig, catch_clears_a_stale_flag)
{
	cr_assert_eq(sig_catch(usr, 1), 0);
	raise(SIGUSR1);
	cr_assert_eq(sig_catch(usr, 1), 0);        /* e.g. after fork */
	cr_assert(!sig_caught(SIGUSR1));
}

Test(sig, ignore_and_default_set_the_disposition)
{
	struct sigaction sa;

	cr_assert_eq(sig_ignore(usr, 1), 0);
	sigaction(SIGUSR1, NULL, &sa);
	cr_assert_eq(sa.sa_handler, SIG_IGN);
	raise(SIGUSR1);                            /* survives */
	cr_assert(!sig_caught(SIGUSR1));
	cr_assert_eq(sig_default(usr, 1), 0);
	sigaction(SIGUSR1, NULL, &sa);
	cr_assert_eq(sa.sa_handler, SIG_DFL);
}

Test(sig, handlers_do_not_restart_system_calls)
{
	struct sigaction sa;

	cr_assert_eq(sig_catch(usr, 1), 0);
	sigaction(SIGUSR1, NULL, &sa);
	cr_assert_eq(sa.sa_flags & SA_RESTART, 0);
}

Test(sig, a_bad_signal_number_is_refused)
{
	int bad[] = { 0 };

	cr_assert_eq(sig_catch(bad, 1), -1);
	cr_assert(!sig_caught(0));
	cr_assert(!sig_caught(NSIG));
}
