/*
 * sig: see sig.h.
 */
#include "sig.h"

#include <errno.h>
#include <string.h>

static volatile sig_atomic_t sig_flags[NSIG];
static void (*volatile sig_hook_fn)(int);

static void
sig_handler(int signo)
{
	void (*fn)(int) = sig_hook_fn;

	if (signo > 0 && signo < NSIG)
		sig_flags[signo] = 1;
	if (fn != NULL)
		fn(signo);
}

static int
sig_set(const int *signals, size_t n, void (*handler)(int))
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	for (i = 0; i < n; i++) {
		if (signals[i] <= 0 || signals[i] >= NSIG) {
			errno = EINVAL;
			return -1;
		}
		if (handler == sig_handler)
			sig_flags[signals[i]] = 0;
		if (sigaction(signals[i], &sa, NULL) == -1)
			return -1;
	}
	return 0;
}

int
sig_catch(const int *signals, size_t n)
{
	return sig_set(signals, n, sig_handler);
}

int
sig_ignore(const int *signals, size_t n)
{
	return sig_set(signals, n, SIG_IGN);
}

int
sig_default(const int *signals, size_t n)
{
	return sig_set(signals, n, SIG_DFL);
}

int
sig_mask(int how, const int *signals, size_t n)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < n; i++)
		sigaddset(&set, signals[i]);
	return sigprocmask(how, &set, NULL);
}

int
sig_caught(int signo)
{
	return signo > 0 && signo < NSIG && sig_flags[signo];
}

int
sig_take(int signo)
{
	if (!sig_caught(signo))
		return 0;
	sig_flags[signo] = 0;
	return 1;
}

int
sig_take_any(const int *signals, size_t n)
{
	int first = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (sig_take(signals[i]) && first == 0)
			first = signals[i];
	return first;
}

void
sig_hook(void (*fn)(int signo))
{
	sig_hook_fn = fn;
}
