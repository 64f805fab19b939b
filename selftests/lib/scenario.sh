# Sourced by the scenario selftests (POSIX sh: they also run under busybox in
# the VM). Sets BUILD, MODE, the binaries, a work dir $W, a pin dir $PIN,
# $SOCK and $DB, and the ok/notok/check counters. $1 names the suite.
set -u
BUILD=${BUILD:-build}
MODE=${MODE:-fallback}
IMMUNED=${IMMUNED:-$BUILD/immuned}
IMMUNECTL=${IMMUNECTL:-$BUILD/immunectl}
PROBE=${PROBE:-$BUILD/tools/immune-probe}

if [ "$(id -u)" != 0 ]; then
	echo "SKIPPED: the $1 selftests need root"
	exit 0
fi

W=$(mktemp -d "/tmp/immune-$1.XXXXXX") || { echo "no work dir (suite name $1?)"; exit 1; }
PIN=/sys/fs/bpf/immune-$1-$$
SOCK=$W/immune.sock
DB=$W/immune.db
PASS=0
FAIL=0
DPID=

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
check() { # DESCRIPTION EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else notok "$1 (expected '$2', got '$3')"; fi
}
stop_daemon() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	DPID=
}
cleanup() {
	stop_daemon
	rm -rf "$PIN" "$W"
}
trap cleanup EXIT INT TERM
ctl() { "$IMMUNECTL" --socket "$SOCK" "$@"; }
# until each immune-probe listener's output FILE says "listening" (10 s at
# most): a fixed sleep was once too short under ASan and CI's load
wait_listening() { # FILE...
	local f
	for _ in $(seq 100); do
		for f in "$@"; do grep -q '^listening' "$f" 2>/dev/null || break; done
		grep -q '^listening' "$f" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# a listener did not start: $*"
}
# What a denied exec or open looks like in this mode.
if [ "$MODE" = lsm ]; then DENIED="errno EPERM"; else DENIED="signal 9"; fi
# Fallback mode: a deny written into the pinned verdict_file behind the
# daemon's back (bpftool) is enforced once the daemon's next emptiness check
# ends the sensor's skip of the lookup (docs/enforcement.md: 1.5 s at worst).
# Opens PATH in a new process until it is killed; prints the result and the
# milliseconds from the call to the kill. GNU date (%N): the host only.
open_denied_within() { # PATH
	t0=$(date +%s%N)
	r=
	i=0
	while [ $i -lt 50 ]; do
		r=$("$PROBE" exec "$PROBE" open "$1" 2>/dev/null)
		[ "$r" = "$DENIED" ] && break
		sleep 0.05
		i=$((i + 1))
	done
	echo "$r $((($(date +%s%N) - t0) / 1000000))"
}
# The status's file_verdict_lookup.skipped, once it is WANT (true/false) or after 3 s.
lookup_skipped() { # WANT
	i=0
	while [ $i -lt 30 ]; do
		s=$(ctl --json status | tr -d ' \t\n' | sed -n 's/.*"file_verdict_lookup":{"skipped":\([a-z]*\).*/\1/p')
		[ "$s" = "$1" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	echo "$s"
}
