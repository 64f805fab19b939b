#!/usr/bin/env bash
# The agent as its systemd unit runs it, on a host where PID 1 need not be
# systemd: under the unit's own CapabilityBoundingSet and NoNewPrivileges
# (read from packaging/immuned.service.in, applied with setpriv) it tells
# READY=1 over NOTIFY_SOCKET only once it serves its control socket, and
# STOPPING=1 on SIGTERM; then every enforcement scenario (selftests/enforce.sh)
# passes under those limits. The Hive does the same without any capability,
# as immune-hive.service runs it.
#   selftests/service.sh BUILD_DIR
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
IMMUNED=$(cd "$BUILD" && pwd)/immuned
IMMUNECTL=$(cd "$BUILD" && pwd)/immunectl
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
if [ "$(id -u)" != 0 ]; then
	echo "SKIPPED: the service selftests need root"
	exit 0
fi
if ! setpriv --help 2>&1 | grep -q -- --bounding-set; then
	echo "SKIPPED: needs util-linux's setpriv"
	exit 0
fi

W=$(mktemp -d /tmp/immune-service.XXXXXX)
PIN=/sys/fs/bpf/immune-service-$$
DPID= LPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	rm -rf "$PIN" "$W"
}
trap cleanup EXIT

# CAP_BPF CAP_PERFMON ... -> -all,+bpf,+perfmon,...
caps=$(sed -n 's/^CapabilityBoundingSet=//p' packaging/immuned.service.in)
bset=-all
for c in $caps; do
	c=${c#CAP_}
	bset="$bset,+$(echo "$c" | tr 'A-Z' 'a-z')"
done
echo "# the unit's bounding set: $bset, no_new_privs"
cat >"$W/immuned" <<EOF
#!/bin/sh
exec setpriv --bounding-set $bset --no-new-privs "$IMMUNED" "\$@"
EOF
chmod +x "$W/immuned"

# --- sd_notify, live: a listener stands in for systemd
# stands in for systemd: the first two notifications, one a line
listener='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
out = open(sys.argv[2], "w")
for _ in range(2):
    out.write(s.recv(4096).decode() + "\n")
    out.flush()
'
python3 -c "$listener" "$W/notify" "$W/notify.out" &
LPID=$!
for _ in $(seq 50); do [ -S "$W/notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$W/notify "$W/immuned" --enforce fallback --pin-dir "$PIN" --socket "$W/immune.sock" \
	--db "$W/immune.db" --stats-interval 0 --no-builtin-rules >"$W/out" 2>"$W/log" &
DPID=$!
ready=
for _ in $(seq 300); do
	grep -qx "READY=1" "$W/notify.out" 2>/dev/null && { ready=1; break; }
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.1
done
if [ -n "$ready" ]; then
	ok "READY=1 reaches NOTIFY_SOCKET"
	# ready means ready: the control socket answers at once
	if "$IMMUNECTL" --socket "$W/immune.sock" status >/dev/null 2>&1; then
		ok "the control socket serves when READY=1 is sent"
	else
		notok "the control socket serves when READY=1 is sent"
	fi
else
	notok "READY=1 reaches NOTIFY_SOCKET (log: $(tr '\n' ' ' <"$W/log"))"
fi
bnd=$(sed -n 's/^CapBnd:\t*//p' "/proc/$DPID/status" 2>/dev/null)
nnp=$(sed -n 's/^NoNewPrivs:\t*//p' "/proc/$DPID/status" 2>/dev/null)
if [ -n "$bnd" ] && [ "$bnd" != 000001ffffffffff ] && [ "$nnp" = 1 ]; then
	ok "the daemon runs with the unit's bounding set ($bnd) and no_new_privs"
else
	notok "the daemon runs with the unit's bounding set (CapBnd '$bnd', NoNewPrivs '$nnp')"
fi
kill "$DPID"
wait "$DPID"
rc=$?
DPID=
wait "$LPID" 2>/dev/null
LPID=
if grep -qx "STOPPING=1" "$W/notify.out" 2>/dev/null; then ok "STOPPING=1 on SIGTERM"; else notok "STOPPING=1 on SIGTERM"; fi
[ "$rc" = 0 ] && ok "a clean stop exits 0" || notok "a clean stop exits 0 (got $rc)"
rm -rf "$PIN"

# --- the Hive as immune-hive.service runs it: no capability at all
if command -v openssl >/dev/null; then
	if grep -qx 'CapabilityBoundingSet=' packaging/immune-hive.service.in; then
		ok "the Hive's unit keeps no capability"
	else
		notok "the Hive's unit keeps no capability: $(grep CapabilityBoundingSet packaging/immune-hive.service.in)"
	fi
	(
		cd "$W" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
			-days 1 -subj /CN=ca &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout hive.key -out hive.csr \
				-subj /CN=hive &&
			printf 'subjectAltName=IP:127.0.0.1\n' >hive.ext &&
			openssl x509 -req -in hive.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out hive.pem -days 1 \
				-extfile hive.ext
	) >/dev/null 2>&1 || notok "test certificates for the Hive"
	: >"$W/notify.out"
	rm -f "$W/notify"
	python3 -c "$listener" "$W/notify" "$W/notify.out" &
	LPID=$!
	for _ in $(seq 50); do [ -S "$W/notify" ] && break; sleep 0.1; done
	NOTIFY_SOCKET=$W/notify setpriv --bounding-set -all --no-new-privs "$IMMUNED" --role hive \
		--listen 127.0.0.1:$((20000 + $$ % 20000)) --ca "$W/ca.pem" --cert "$W/hive.pem" --key "$W/hive.key" \
		--db "$W/hive.db" --socket "$W/hive.sock" >"$W/hive.log" 2>&1 &
	DPID=$!
	ready=
	for _ in $(seq 100); do
		grep -qx "READY=1" "$W/notify.out" 2>/dev/null && { ready=1; break; }
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$ready" ] && "$IMMUNECTL" --socket "$W/hive.sock" status >/dev/null 2>&1; then
		ok "the Hive without capabilities sends READY=1 and serves its control socket"
	else
		notok "the Hive without capabilities sends READY=1 and serves its control socket: $(tr '\n' ' ' <"$W/hive.log")"
	fi
	kill "$DPID"
	wait "$DPID"
	rc=$?
	DPID=
	wait "$LPID" 2>/dev/null
	LPID=
	if grep -qx "STOPPING=1" "$W/notify.out" && [ "$rc" = 0 ]; then
		ok "the Hive sends STOPPING=1 and exits 0 on SIGTERM"
	else
		notok "the Hive sends STOPPING=1 and exits 0 on SIGTERM (exit $rc)"
	fi
else
	echo "# no openssl: the Hive's part is left out"
fi

# --- every enforcement scenario under the unit's limits
IMMUNED="$W/immuned" bash selftests/enforce.sh "$BUILD" fallback >"$W/enforce.out" 2>&1
sed 's/^/    /' "$W/enforce.out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$W/enforce.out" | tail -1)
p=${line%% passed*}
f=${line#*passed, }
f=${f%% failed*}
if [ -n "$line" ] && [ "$f" = 0 ] && [ "$p" -gt 0 ]; then
	ok "the enforcement scenarios pass under the unit's limits ($p checks)"
else
	notok "the enforcement scenarios pass under the unit's limits (${line:-no result})"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
