# shellcheck shell=bash
# scripts/lib.sh - shared settings and helpers, sourced by every script in scripts/.
#
# Layout (all overridable from the environment):
#   ROOT   repo root (derived from this file's location)
#   STATE  ${CONCERT_STATE_DIR:-$ROOT/.state}   local servers' data, logs, sockets, pids
#   CACHE  ${CONCERT_CACHE_DIR:-$HOME/.cache/concert}   downloaded Kafka jars
#   BUILD  ${CONCERT_BUILD_DIR:-$ROOT/build}   ($ROOT/build-asan when CONCERT_SANITIZE=1)
#   RUNTIME ${CONCERT_RUNTIME_DIR:-/run/concert-<hash of STATE>} (as root; else
#          /tmp/concert-<uid>-<hash>): what the web servers' workers must reach -- concertd's and
#          MariaDB's sockets, mod_fcgid's copy of concertd and its config, Apache's error
#          documents. As root those workers run as nobody/www-data, and STATE may sit under a
#          0700 home directory they cannot enter. Mode 0755, owned by the invoking user.
# Ports:
#   HTTP_PORT    ${CONCERT_HTTP_PORT:-8080}      the (first) web server
#   APACHE_PORT  ${CONCERT_APACHE_PORT:-HTTP_PORT+1}  Apache when both web servers run
#   KAFKA_PORT   ${CONCERT_KAFKA_PORT:-19092}    broker; the KRaft controller uses +1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

_abs() { # make a path absolute (relative to the current directory) without requiring it to exist
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

STATE=$(_abs "${CONCERT_STATE_DIR:-$ROOT/.state}")
STATE=${STATE%/}
CACHE=$(_abs "${CONCERT_CACHE_DIR:-${HOME:-/root}/.cache/concert}")
if [[ ${CONCERT_SANITIZE:-0} == 1 ]]; then
	BUILD=$(_abs "${CONCERT_BUILD_DIR:-$ROOT/build-asan}")
else
	BUILD=$(_abs "${CONCERT_BUILD_DIR:-$ROOT/build}")
fi
BUILD=${BUILD%/}

HTTP_PORT=${CONCERT_HTTP_PORT:-8080}
APACHE_PORT=${CONCERT_APACHE_PORT:-$((HTTP_PORT + 1))}
KAFKA_PORT=${CONCERT_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
TOPIC_PREFIX=${CONCERT_KAFKA_TOPIC_PREFIX:-concert}
KAFKA_VERSION=3.9.1

_state_hash=$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
if [[ -n ${CONCERT_RUNTIME_DIR:-} ]]; then
	RUNTIME=$(_abs "$CONCERT_RUNTIME_DIR")
elif [[ $(id -u) == 0 && -d /run && -w /run ]]; then
	RUNTIME=/run/concert-$_state_hash
else
	RUNTIME=/tmp/concert-$(id -u)-$_state_hash
fi
RUNTIME=${RUNTIME%/}

MYSQL_DIR=$STATE/mysql
# The server's socket is in RUNTIME; $MYSQL_DIR/mysqld.sock is a symlink to it (for clients).
MYSQL_SOCK=$RUNTIME/mysqld.sock
MYSQL_SOCK_LINK=$MYSQL_DIR/mysqld.sock
KAFKA_DIR=$STATE/kafka
RUN_DIR=$STATE/run
LOG_DIR=$STATE/log
CONF_FILE=$STATE/concert.conf
# The programs read CONCERT_<KEY> themselves, so honour the same overrides here.
CONCERTD_SOCK=${CONCERT_LISTEN:-$RUNTIME/concertd.sock}
CONCERTD_PID=${CONCERT_PID_FILE:-$RUN_DIR/concertd.pid}
CONSUMER_PID=${CONCERT_CONSUMER_PID_FILE:-$RUN_DIR/consumer.pid}
CONCERTD_LOG=${CONCERT_LOG_FILE:-$LOG_DIR/concertd.log}
CONSUMER_LOG=${CONCERT_CONSUMER_LOG_FILE:-$LOG_DIR/consumer.log}

export ROOT STATE CACHE BUILD RUNTIME

# ---------------------------------------------------------------- messages

_me=$(basename "$0")
info() { printf '%s: %s\n' "$_me" "$*"; }
warn() { printf '%s: warning: %s\n' "$_me" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$_me" "$*" >&2
	exit 1
}

# now_ms: milliseconds since the epoch (for timings)
now_ms() { date +%s%3N; }

# ensure_runtime: create RUNTIME (0755, ours). It may be in /tmp: refuse a symlink or a folder
# somebody else owns (it could have been created first to catch our sockets).
ensure_runtime() {
	if [[ ! -e $RUNTIME ]]; then
		mkdir -p "$(dirname "$RUNTIME")"
		mkdir -m 0755 "$RUNTIME" 2>/dev/null || [[ -d $RUNTIME && ! -L $RUNTIME ]] ||
			die "cannot create the runtime folder $RUNTIME"
	fi
	[[ -d $RUNTIME && ! -L $RUNTIME && -O $RUNTIME ]] ||
		die "runtime folder $RUNTIME is not a folder owned by $(id -un); remove it or set CONCERT_RUNTIME_DIR"
	chmod 0755 "$RUNTIME"
}

# ---------------------------------------------------------------- processes

# pid_of FILE: print the pid stored in FILE if that process is alive; else fail.
pid_of() {
	local f=$1 pid
	[[ -s $f ]] || return 1
	read -r pid <"$f" || true
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	pid_alive "$pid" || return 1
	printf '%s\n' "$pid"
}

# pid_alive PID: the process exists and is not a zombie (kill -0 succeeds on a zombie, which
# has exited but whose parent has not reaped it yet). The state is the field after "(comm)" in
# /proc/PID/stat; without /proc, kill -0 is all there is.
pid_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	[[ -e /proc/$1/stat ]] || { [[ ! -d /proc/self ]]; return; }
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[[ ${st%% *} != [ZX] ]]
}

# wait_pid_exit PID TIMEOUT_S: 0 if PID exited within the timeout.
wait_pid_exit() {
	local pid=$1 t=$2 i
	for ((i = 0; i < t * 10; i++)); do
		pid_alive "$pid" || return 0
		sleep 0.1
	done
	! pid_alive "$pid"
}

# stop_pidfile NAME PIDFILE [TIMEOUT_S=15]: SIGTERM, wait, then SIGKILL. Removes the pid file.
stop_pidfile() {
	local name=$1 f=$2 t=${3:-15} pid
	if ! pid=$(pid_of "$f"); then
		rm -f "$f"
		info "$name is not running"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_pid_exit "$pid" "$t"; then
		warn "$name (pid $pid) did not stop within ${t}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		wait_pid_exit "$pid" 5 || die "$name (pid $pid) survived SIGKILL"
	fi
	rm -f "$f"
	info "$name stopped"
}

# port_open PORT [HOST=127.0.0.1]
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# check_port_free NAME PORT: die with a clear message when something already listens there.
check_port_free() {
	if port_open "$2"; then
		die "$1: port $2 on 127.0.0.1 is already in use (set a different port, e.g. CONCERT_HTTP_PORT / CONCERT_KAFKA_PORT)"
	fi
}

# log_for NAME: the log file that explains a server's failure to start.
log_for() {
	case $1 in
	mysql* | maria*) echo "$MYSQL_DIR/mysqld.log" ;;
	kafka*) echo "$KAFKA_DIR/kafka.log" ;;
	concertd*) echo "$CONCERTD_LOG" ;;
	consumer* | concert-consumer*) echo "$CONSUMER_LOG" ;;
	nginx*) echo "$STATE/nginx/logs/error.log" ;;
	apache* | httpd*) echo "$STATE/apache/logs/error.log" ;;
	*) echo "" ;;
	esac
}

# wait_for NAME TIMEOUT_S CMD...: poll CMD every 0.1s (0.25s after the first 2s) until it
# succeeds. On timeout print "error: NAME did not become ready in Ns" and the tail of that
# server's log (WAIT_LOG overrides which log) and exit non-zero. If WAIT_PID is set and that
# process dies meanwhile, fail at once with the same report.
wait_for() {
	local name=$1 timeout=$2 start now log
	shift 2
	start=$(now_ms)
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		now=$(now_ms)
		if [[ -n ${WAIT_PID:-} ]] && ! pid_alive "$WAIT_PID"; then
			printf '%s: error: %s exited while starting (pid %s)\n' "$_me" "$name" "$WAIT_PID" >&2
			break
		fi
		if ((now - start >= timeout * 1000)); then
			printf '%s: error: %s did not become ready in %ss\n' "$_me" "$name" "$timeout" >&2
			break
		fi
		if ((now - start < 2000)); then sleep 0.1; else sleep 0.25; fi
	done
	log=${WAIT_LOG:-$(log_for "$name")}
	if [[ -n $log && -f $log ]]; then
		printf -- '---- last 30 lines of %s ----\n' "$log" >&2
		tail -n 30 "$log" >&2
		printf -- '----\n' >&2
	fi
	exit 1
}

# spawn LOGFILE PIDFILE CMD...: start CMD in its own session, detached, output appended to
# LOGFILE; writes the pid to PIDFILE and sets SPAWNED_PID.
spawn() {
	local logf=$1 pidf=$2
	shift 2
	mkdir -p "$(dirname "$logf")" "$(dirname "$pidf")"
	setsid nohup "$@" >>"$logf" 2>&1 </dev/null &
	SPAWNED_PID=$!
	echo "$SPAWNED_PID" >"$pidf"
}

# render TEMPLATE OUT: substitute the @PLACEHOLDERS@ used in nginx-conf/ and apache-conf/.
# Extra "NAME=value" args add/override placeholders.
render() {
	local in=$1 out=$2 sedargs=() kv
	shift 2
	for kv in "$@" "STATE=$STATE" "ROOT=$ROOT" "RUNTIME=$RUNTIME" "SOCKET=$CONCERTD_SOCK" "HTTP_PORT=$HTTP_PORT"; do # first match wins
		sedargs+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${sedargs[@]}" "$in" >"$out.tmp"
	if grep -q '@[A-Z_]*@' "$out.tmp"; then
		die "unrendered placeholder in $out: $(grep -o '@[A-Z_]*@' "$out.tmp" | sort -u | tr '\n' ' ')"
	fi
	mv "$out.tmp" "$out"
}

# config_keys: the programs' configuration keys (what `concertd -t` lists), else the keys of
# concert.conf.example when concertd is not built yet.
config_keys() {
	local bin=$BUILD/src/concertd out=
	[[ -x $bin ]] && out=$(env -i "$bin" -t 2>/dev/null | sed -n 's/^\([a-z_][a-z0-9_]*\) = .*/\1/p')
	if [[ -n $out ]]; then
		printf '%s\n' "$out"
	else
		sed -n 's/^#\{0,1\}\([a-z_][a-z0-9_]*\) *=.*/\1/p' "$ROOT/concert.conf.example" | sort -u
	fi
}

# conf_env: sets CONF_ENV=(env -u CONCERT_<KEY> ...) for every configuration key: a command
# run as "${CONF_ENV[@]}" CMD gets none of them, so the programs take their whole configuration
# from $CONF_FILE (which scripts/config wrote with the stack's overrides) -- whatever the
# caller's environment says.
conf_env() {
	local k
	CONF_ENV=(env)
	for k in $(config_keys); do CONF_ENV+=(-u "CONCERT_${k^^}"); done
}

need_cmd() {
	command -v "$1" >/dev/null 2>&1 || die "'$1' not found; run scripts/install-deps"
}
