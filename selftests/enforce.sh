#!/bin/sh
# Enforcement scenarios with real syscalls, through immuned and immunectl.
# POSIX sh: the same script runs on the host (fallback mode: connect fails
# with EPERM, exec and open end in SIGKILL) and in the VM under busybox
# (BPF-LSM: each fails with EPERM).
#   selftests/enforce.sh BUILD_DIR [lsm|fallback]
# Binaries: $IMMUNED, $IMMUNECTL, $PROBE (default BUILD_DIR/immuned, ...).
BUILD=${1:-build}
MODE=${2:-fallback}
. "$(dirname "$0")/lib/scenario.sh" enforce
EVENTS=$W/events.json

start_daemon() {
	# shellcheck disable=SC2086 # $EXTRA: more options, words without blanks
	"$IMMUNED" --enforce "$MODE" --pin-dir "$PIN" --socket "$SOCK" --db "$DB" \
		--events exec,open,connect --format json --output "$EVENTS.$1" --stats-interval 0 ${EXTRA:-} \
		2>"$W/immuned.$1.log" &
	DPID=$!
	i=0
	while [ $i -lt 100 ]; do
		[ -S "$SOCK" ] && "$IMMUNECTL" --socket "$SOCK" status >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "immuned did not start:"
	cat "$W/immuned.$1.log"
	return 1
}

DENIED_EXEC=$DENIED
DENIED_OPEN=$DENIED

# an event line for this path with outcome denied (flush: the daemon writes every 100 ms)
has_denied_event() { # KIND NEEDLE RUN
	i=0
	while [ $i -lt 30 ]; do
		if grep -F "\"action\":\"$1\"" "$EVENTS.$3" 2>/dev/null | grep -F "\"outcome\":\"denied\"" | grep -qF "$2"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

cp "$PROBE" "$W/blocked-bin"
cp "$PROBE" "$W/allowed-bin"
ln -s "$W/blocked-bin" "$W/symlink-bin"
ln "$W/blocked-bin" "$W/hardlink-bin"
echo secret >"$W/secret"
echo public >"$W/public"
TRUE_ARGS=true # copies of immune-probe: "true" makes them exit 0

start_daemon 1 || { notok "daemon starts"; echo "$PASS passed, $FAIL failed"; exit 1; }
ok "daemon starts in $MODE mode"
mode=$(ctl --json status | tr -d ' \t\n' | sed -n 's/.*"mode":"\([a-z]*\)".*/\1/p')
check "immunectl status reports the mode" "$MODE" "$mode"

# --- exec
check "unblocked binary runs" "exit 0" "$("$PROBE" exec "$W/blocked-bin" $TRUE_ARGS)"
ctl block exec "$W/blocked-bin" >/dev/null
check "blocked binary is denied" "$DENIED_EXEC" "$("$PROBE" exec "$W/blocked-bin" $TRUE_ARGS)"
check "blocked binary is denied through a symlink" "$DENIED_EXEC" "$("$PROBE" exec "$W/symlink-bin" $TRUE_ARGS)"
check "blocked binary is denied through a hard link" "$DENIED_EXEC" "$("$PROBE" exec "$W/hardlink-bin" $TRUE_ARGS)"
check "a copy of it (another inode) still runs" "exit 0" "$("$PROBE" exec "$W/allowed-bin" $TRUE_ARGS)"
if has_denied_event exec "blocked-bin" 1; then ok "the exec denial is an event"; else notok "the exec denial is an event"; fi

# --- open
check "unblocked file opens" "fd" "$("$PROBE" open "$W/secret")"
if [ "$MODE" = fallback ]; then
	# no file verdict: the sensor skips its verdict_file lookup on opens
	check "with verdict_file verified empty the sensor skips its lookup" "true" "$(lookup_skipped true)"
fi
ctl block file "$W/secret" >/dev/null
[ "$MODE" = fallback ] && check "the daemon's own file deny ends the skip before it is written" "false" \
	"$(ctl --json status | tr -d ' \t\n' | sed -n 's/.*"file_verdict_lookup":{"skipped":\([a-z]*\).*/\1/p')"
r=$("$PROBE" open "$W/secret" 2>/dev/null)
[ -z "$r" ] && r="signal 9" # killed before it could print
check "blocked file is denied" "$DENIED_OPEN" "$r"
check "another file still opens" "fd" "$("$PROBE" open "$W/public")"
if has_denied_event open "$W/secret" 1; then ok "the open denial is an event"; else notok "the open denial is an event"; fi

# --- connect
"$PROBE" listen 127.0.0.1 47001 30 >"$W/l1" &
L1=$!
"$PROBE" listen 127.0.0.1 47002 30 >"$W/l2" &
L2=$!
wait_listening "$W/l1" "$W/l2"
check "connect before the block" "ok" "$("$PROBE" connect 127.0.0.1 47001)"
ctl block net 127.0.0.1:47001 >/dev/null
check "blocked address:port is denied" "errno EPERM" "$("$PROBE" connect 127.0.0.1 47001)"
check "another port still connects" "ok" "$("$PROBE" connect 127.0.0.1 47002)"
if has_denied_event connect '"port":47001' 1; then ok "the connect denial is an event"; else notok "the connect denial is an event"; fi
ctl block net 10.99.0.0/16 >/dev/null
check "a CIDR block denies an address inside it" "errno EPERM" "$("$PROBE" connect 10.99.3.4 9)"

# --- unblock
ctl unblock exec "$W/blocked-bin" >/dev/null
ctl unblock file "$W/secret" >/dev/null
ctl unblock net 127.0.0.1:47001 >/dev/null
check "unblock restores exec" "exit 0" "$("$PROBE" exec "$W/blocked-bin" $TRUE_ARGS)"
check "unblock restores open" "fd" "$("$PROBE" open "$W/secret")"
check "unblock restores connect" "ok" "$("$PROBE" connect 127.0.0.1 47001)"

# --- fallback: a file deny written behind the daemon's back, during the skip
if [ "$MODE" = fallback ] && command -v bpftool >/dev/null && command -v python3 >/dev/null; then
	check "verdict_file empty again: the skip is back" "true" "$(lookup_skipped true)"
	key=$(stat -c '%Hd %Ld %i' "$W/public" | python3 -c 'import struct,sys
ma, mi, ino = map(int, sys.stdin.read().split())
print(" ".join("%02x" % b for b in struct.pack("<QQ", (ma << 20) | mi, ino)))')
	val=$(python3 -c 'import struct; print(" ".join("%02x" % b for b in struct.pack("<IHHQQ48s", 1, 0, 0, 0, 0, b"bpftool")))')
	# shellcheck disable=SC2086 # hex bytes, one word each
	bpftool map update pinned "$PIN/verdict_file" key hex $key value hex $val &&
		ok "bpftool put a deny of $W/public in verdict_file" || notok "bpftool put a deny in verdict_file"
	set -- $(open_denied_within "$W/public")
	check "a bpftool-written file deny is enforced" "signal 9" "$1 $2"
	[ "${3:-9999}" -le 2000 ] && ok "... within 2 s ($3 ms)" || notok "... within 2 s (took ${3:-?} ms)"
	check "a verdict_file entry keeps the skip off" "false" "$(lookup_skipped false)"
	# shellcheck disable=SC2086
	bpftool map delete pinned "$PIN/verdict_file" key hex $key
fi

# --- restart: pinned maps are reused, and SQLite re-applies after a "reboot"
ctl block exec "$W/blocked-bin" >/dev/null
ctl block net 127.0.0.1:47002 >/dev/null
stop_daemon
start_daemon 2 || notok "daemon restarts"
check "exec verdict survives a restart" "$DENIED_EXEC" "$("$PROBE" exec "$W/blocked-bin" $TRUE_ARGS)"
check "net verdict survives a restart" "errno EPERM" "$("$PROBE" connect 127.0.0.1 47002)"

# --- no gap: the pinned links go on denying while no daemon runs
ctl block file "$W/secret" >/dev/null
echo "ip:192.0.2.77" >"$W/blocked.ioc"
ctl block file "$W/blocked.ioc" >/dev/null
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
check "exec is denied while the daemon is down (SIGKILLed)" "$DENIED_EXEC" "$("$PROBE" exec "$W/blocked-bin" $TRUE_ARGS)"
r=$("$PROBE" open "$W/secret" 2>/dev/null)
[ -z "$r" ] && r="signal 9"
check "open is denied while the daemon is down (SIGKILLed)" "$DENIED_OPEN" "$r"
check "connect is denied while the daemon is down (SIGKILLed)" "errno EPERM" "$("$PROBE" connect 127.0.0.1 47002)"
# the new daemon reads an IOC file a verdict blocks: neither its own sensor
# nor the one the killed daemon left pinned may kill it for that
[ "$MODE" = fallback ] && EXTRA="--ioc $W/blocked.ioc"
start_daemon 2b || notok "daemon starts after a SIGKILL"
EXTRA=
check "a new daemon adopts the enforcement: exec still denied" "$DENIED_EXEC" "$("$PROBE" exec "$W/blocked-bin" $TRUE_ARGS)"
old_links=$(ls "$PIN/links" | grep -cv "^$DPID-")
check "the new daemon's links replaced the old pins" "0" "$old_links"
if [ "$MODE" = fallback ]; then
	old_links=$(ls "$PIN/sensor" | grep -cv "^$DPID-")
	check "the new daemon's sensor replaced the old one's pins" "0" "$old_links"
fi
if [ "$MODE" = fallback ]; then
	r=$("$PROBE" open "$W/blocked.ioc" 2>/dev/null)
	[ -z "$r" ] && r="signal 9"
	check "another process opening the blocked IOC file is denied" "$DENIED_OPEN" "$r"
	if kill -0 "$DPID" 2>/dev/null && grep -Eq "[,;] 1 indicators" "$W/immuned.2b.log"; then
		ok "the daemon read the blocked IOC file and lives"
	else
		notok "the daemon read the blocked IOC file and lives: $(cat "$W/immuned.2b.log")"
	fi
	ctl unblock file "$W/blocked.ioc" >/dev/null
fi
ctl unblock file "$W/secret" >/dev/null
stop_daemon
rm -rf "$PIN" # what a reboot does to bpffs
start_daemon 3 || notok "daemon starts after the pins are gone"
check "exec verdict is re-applied from SQLite" "$DENIED_EXEC" "$("$PROBE" exec "$W/blocked-bin" $TRUE_ARGS)"
check "net verdict is re-applied from SQLite" "errno EPERM" "$("$PROBE" connect 127.0.0.1 47002)"
verdicts=$(ctl verdicts | grep "operator:" | grep -c "blocked-bin\|127.0.0.1:47002\|10.99.0.0/16")
check "immunectl verdicts lists the three left" "3" "$verdicts"

# --- refused peer: a non-root user may look but not change verdicts
# util-linux's setpriv (busybox has one with other options)
if setpriv --help 2>&1 | grep -q -- --reuid; then
	chmod 0755 "$W"
	chmod 0666 "$SOCK" 2>/dev/null
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$IMMUNECTL" --socket "$SOCK" block net 1.2.3.4 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && echo "$out" | grep -qi "denied\|not allowed\|refused\|permission"; then
		ok "a non-root peer cannot change verdicts"
	else
		notok "a non-root peer cannot change verdicts (rc=$rc: $out)"
	fi
fi

kill $L1 $L2 2>/dev/null
wait $L1 $L2 2>/dev/null
stop_daemon
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
