/*
 * sig: signal flags for the daemons' loops (nginx's and php-fpm's model).
 *
 * A caught signal only sets its flag (and runs the optional hook); the
 * program's loop takes the flags and acts.  Where a loop must not miss a
 * signal between testing the flags and sleeping, it keeps the signals
 * blocked (sig_mask) and unblocks them only inside ppoll()'s mask, so the
 * handler runs there and nowhere else.
 *
 * Handlers are installed without SA_RESTART (a signal cuts a sleep short)
 * and with every signal blocked while they run; SIGCHLD is reported only
 * for terminated children (SA_NOCLDSTOP).
 */
#ifndef CONCERT_SIG_H
#define CONCERT_SIG_H

#include <signal.h>
#include <stddef.h>

/* Catch each of the n signals into its flag (the flags start clear).
 * 0 / -1 (errno set). */
int sig_catch(const int *signals, size_t n);

/* Set the n signals to SIG_IGN / SIG_DFL.  0 / -1. */
int sig_ignore(const int *signals, size_t n);
int sig_default(const int *signals, size_t n);

/* sigprocmask(how, the n signals).  0 / -1. */
int sig_mask(int how, const int *signals, size_t n);

/* Has signo been caught since it was last taken?  sig_caught only looks;
 * sig_take also clears the flag. */
int sig_caught(int signo);
int sig_take(int signo);

/* Take every flag of the n signals; the first of them that was caught
 * (in list order), or 0 if none. */
int sig_take_any(const int *signals, size_t n);

/* fn (async-signal-safe; NULL: none) runs in the handler after the flag
 * is set. */
void sig_hook(void (*fn)(int signo));

#define SIG_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
