#!/usr/bin/env bash
# The Hive end to end on loopback: agents (replay mode, no BPF) and a Hive
# over mutual TLS 1.3; every incident stored exactly once through a Hive that
# is down, killed mid-batch and restarted, and an agent restarted with
# unacknowledged incidents; clients without a certificate, from another CA or
# expired are refused while the others are served; a malformed frame closes
# only its connection; a fleet block reaches every agent's pinned maps.
#   selftests/hive.sh BUILD_DIR
set -u
BUILD=${1:-build}
IMMUNED=$(cd "$BUILD" && pwd)/immuned
IMMUNECTL=$(cd "$BUILD" && pwd)/immunectl
PROBE=$(cd "$BUILD" && pwd)/tools/immune-probe
PROXY=$(cd "$BUILD" && pwd)/tools/immune-proxy
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1 (expected '$2', got '$3')"; fi; }
command -v openssl >/dev/null && command -v sqlite3 >/dev/null || {
	echo "SKIPPED: needs the openssl and sqlite3 command-line tools"
	exit 0
}

W=$(mktemp -d /tmp/immune-hive.XXXXXX)
PORT=$((20000 + $$ % 20000))
HPID=
LPID=
XPID=
cleanup() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	[ -n "$XPID" ] && kill "$XPID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	rm -rf /sys/fs/bpf/immune-hive-*-$$
	if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
cd "$W" || exit 1

# ---- certificates, made here with the openssl CLI
mkca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
	-days 30 -subj "/CN=$1" 2>/dev/null; }
mkcert() { # NAME SAN CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
	printf 'subjectAltName=%s\n' "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" -days 30 \
		-extfile "$1.ext" 2>/dev/null
}
mkca fleet-ca
mkca other-ca
mkcert hive "DNS:localhost,IP:127.0.0.1" fleet-ca
for a in a1 a2 a3 a4 a5 a6 a7 live; do mkcert "$a" "DNS:$a" fleet-ca; done
mkcert rogue "DNS:rogue" other-ca
# an expired certificate: signed by the fleet CA for January 2020
mkdir -p ca/newcerts && : >ca/index.txt && echo 1000 >ca/serial
cat >ca.cnf <<EOF
[ca]
default_ca = d
[d]
dir = ca
database = ca/index.txt
new_certs_dir = ca/newcerts
serial = ca/serial
default_md = sha256
policy = p
[p]
commonName = supplied
EOF
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout expired.key -out expired.csr \
	-subj "/CN=expired" 2>/dev/null
openssl ca -batch -config ca.cnf -cert fleet-ca.pem -keyfile fleet-ca.key -in expired.csr -out expired.pem \
	-startdate 20200101000000Z -enddate 20200201000000Z >/dev/null 2>&1
[ -s expired.pem ] && ok "test certificates made (fleet CA, other CA, expired)" || notok "test certificates made"

# ---- recorded events that raise incidents: exec from /tmp (a built-in rule)
gen_events() { # FILE N FIRST_PID
	local i
	for ((i = 0; i < $2; i++)); do
		printf '{"@timestamp":"2026-11-24T06:00:00.%09dZ","event":{"kind":"event","category":["process"],"type":["start"],"action":"exec","outcome":"success"},"process":{"pid":%d,"thread":{"id":%d},"executable":"/tmp/x-%d","name":"x-%d","args":["/tmp/x-%d"],"args_count":1,"command_line":"/tmp/x-%d","working_directory":"/tmp","parent":{"pid":1,"executable":"/bin/sh","command_line":"sh"}},"user":{"id":"0"},"group":{"id":"0"},"file":{"path":"/tmp/x-%d"},"immune":{"truncated":[],"exec":{"filename":"/tmp/x-%d","syscall":"execve","ret":0}}}\n' \
			"$i" $(($3 + i)) $(($3 + i)) "$i" "$i" "$i" "$i" "$i" "$i"
	done >"$1"
}
gen_events ev300.json 300 10000
gen_events ev3000.json 3000 20000
gen_events ev5.json 5 90000
: >empty.json

start_hive() {
	"$IMMUNED" --role hive --listen 127.0.0.1:$PORT --ca fleet-ca.pem --cert hive.pem --key hive.key \
		--db hive.db --socket hive.sock 2>>hive.log &
	HPID=$!
	for _ in $(seq 50); do
		"$IMMUNECTL" --socket hive.sock status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
agent() { # NAME EVENTS DRAIN [extra...]
	local n=$1 ev=$2 drain=$3
	shift 3
	"$IMMUNED" --replay "$ev" --db "$n.db" --agent-id "$n" --hive "${HIVE_ADDR:-localhost:$PORT}" --hive-ca fleet-ca.pem \
		--hive-cert "$n.pem" --hive-key "$n.key" --hive-drain-seconds "$drain" --format json "$@" \
		>"$n.out" 2>>"$n.err"
}
q() { sqlite3 hive.db "$1"; }

start_hive && ok "the Hive starts" || notok "the Hive starts"

# ---- several agents at once, each incident stored once
agent a1 ev300.json 20 & p1=$!
agent a2 ev300.json 20 & p2=$!
agent a3 ev300.json 20 & p3=$!
wait $p1 && wait $p2 && wait $p3 && ok "three agents drained (every incident acknowledged)" ||
	notok "three agents drained: $(tail -2 a1.err a2.err a3.err)"
check "the Hive stored 900 incidents" "900" "$(q 'SELECT count(*) FROM incidents')"
check "... one per (agent, sequence)" "900" "$(q 'SELECT count(DISTINCT agent_id || "/" || agent_seq) FROM incidents')"
check "... 300 from each agent" "300 300 300" "$(q "SELECT count(*) FROM incidents GROUP BY agent_id ORDER BY agent_id" | tr '\n' ' ' | sed 's/ $//')"
check "the agent marked all of its incidents acknowledged" "300" "$(sqlite3 a1.db 'SELECT count(*) FROM incidents WHERE hive_acked = 1')"
"$IMMUNECTL" --socket hive.sock status | grep -q "a1" && ok "immunectl status on the Hive lists the agents" ||
	notok "immunectl status on the Hive lists the agents"
n=$("$IMMUNECTL" --socket hive.sock incidents --host "$(hostname)" --limit 5 | grep -c "6f1e0a01")
check "immunectl incidents --host on the Hive" "5" "$n"

# ---- the Hive is down: incidents wait; an agent restarted later delivers them once
kill "$HPID" && wait "$HPID" 2>/dev/null
HPID=
agent a4 ev300.json 2 && notok "an agent with the Hive down reports what is left" ||
	ok "an agent with the Hive down says incidents are left"
check "... they wait in its SQLite" "300" "$(sqlite3 a4.db 'SELECT count(*) FROM incidents WHERE hive_acked = 0')"
start_hive || notok "the Hive restarts"
agent a4 empty.json 20 && ok "the restarted agent delivers what was waiting" || notok "the restarted agent delivers"
check "... exactly once" "300 300" "$(q "SELECT count(*), count(DISTINCT agent_seq) FROM incidents WHERE agent_id = 'a4'" | tr '|' ' ')"

# ---- the Hive killed mid-batch and restarted
agent a5 ev3000.json 60 & p5=$!
for _ in $(seq 100); do
	[ "$(q "SELECT count(*) FROM incidents WHERE agent_id = 'a5'")" -gt 0 ] 2>/dev/null && break
	sleep 0.05
done
kill -9 "$HPID"
wait "$HPID" 2>/dev/null
HPID=
sleep 1
start_hive || notok "the Hive restarts after kill -9"
wait $p5 && ok "the agent finishes after the Hive was killed mid-stream" || notok "the agent finishes after the kill"
check "3000 incidents stored exactly once through the kill" "3000 3000" \
	"$(q "SELECT count(*), count(DISTINCT agent_seq) FROM incidents WHERE agent_id = 'a5'" | tr '|' ' ')"

# ---- an agent may not speak for another: its id must match its certificate
"$IMMUNED" --replay ev5.json --db spoof.db --agent-id a1 --hive localhost:$PORT --hive-ca fleet-ca.pem \
	--hive-cert a2.pem --hive-key a2.key --hive-drain-seconds 2 >/dev/null 2>spoof.err &&
	notok "an agent claiming another's id is refused" || ok "an agent claiming another's id is refused"
grep -q "agent id 'a1' does not match its certificate 'a2'" hive.log && ok "... and the Hive says why" ||
	notok "... and the Hive says why: $(tail -2 hive.log)"

# ---- the link cut under the agent (the Hive stays up): acks lost, batches resent, stored once
"$PROXY" $((PORT + 1)) $PORT >proxy.out 2>proxy.err &
XPID=$!
sleep 0.3
gen_events ev2000.json 2000 50000
HIVE_ADDR=localhost:$((PORT + 1)) agent a7 ev2000.json 60 &
p7=$!
for cutn in 1 2 3; do
	for _ in $(seq 200); do
		[ "$(q "SELECT count(*) FROM incidents WHERE agent_id = 'a7'")" -ge $((cutn * 400)) ] 2>/dev/null && break
		sleep 0.02
	done
	kill -USR1 "$XPID"
done
wait $p7 && ok "the agent finishes through a link cut three times" || notok "the agent finishes through cut links: $(tail -3 a7.err)"
check "2000 incidents stored exactly once through the cuts" "2000 2000" \
	"$(q "SELECT count(*), count(DISTINCT agent_seq) FROM incidents WHERE agent_id = 'a7'" | tr '|' ' ')"
[ "$(grep -c "cut" proxy.err)" -ge 3 ] && ok "the relay cut the link three times" || notok "the relay cut the link: $(cat proxy.err)"
kill "$XPID" 2>/dev/null
XPID=

# ---- refused clients; the Hive goes on serving the others
timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_3 -CAfile fleet-ca.pem </dev/null >nocert.out 2>&1
agent rogue ev300.json 3 && notok "a client from another CA is refused" || ok "a client from another CA is refused"
agent expired ev300.json 3 && notok "an expired client is refused" || ok "an expired client is refused"
sleep 0.5
refused=$(grep -c "closed: certificate refused\|closed: .*certificate\|closed: .*alert" hive.log)
[ "$refused" -ge 3 ] && ok "the Hive logs each refusal ($refused)" || notok "the Hive logs each refusal: $(tail -5 hive.log)"
check "nothing of theirs was stored" "0" "$(q "SELECT count(*) FROM incidents WHERE agent_id IN ('rogue', 'expired')")"

# ---- a malformed frame closes that connection only
printf '\xff\xff\xff\xffgarbage' | timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_3 -CAfile fleet-ca.pem \
	-cert a1.pem -key a1.key -quiet >/dev/null 2>&1
sleep 0.3
grep -q "frame of 4294967295 bytes" hive.log && ok "an oversized frame is logged and its connection closed" ||
	notok "an oversized frame is logged: $(tail -3 hive.log)"
agent a2 ev5.json 20 && ok "the Hive still serves after refusals and bad frames" || notok "the Hive still serves"
check "... a2 now has 305" "305" "$(q "SELECT count(*) FROM incidents WHERE agent_id = 'a2'")"

# ---- fleet verdicts: to agents that connect later, and to a live agent now
"$IMMUNECTL" --socket hive.sock block net 10.9.8.7 --fleet >/dev/null && ok "immunectl block --fleet on the Hive" ||
	notok "immunectl block --fleet on the Hive"
if [ "$(id -u)" = 0 ]; then
	PIN6=/sys/fs/bpf/immune-hive-a6-$$
	agent a6 empty.json 20 --pin-dir "$PIN6" && ok "a replaying agent takes the fleet set" || notok "a replaying agent takes the fleet set"
	if bpftool map dump pinned "$PIN6/verdict_net" 2>/dev/null | grep -q '"source": "hive"'; then
		ok "the fleet verdict is in that agent's pinned map"
	else
		notok "the fleet verdict is in that agent's pinned map"
	fi
	PINL=/sys/fs/bpf/immune-hive-live-$$
	"$IMMUNED" --pin-dir "$PINL" --socket live.sock --db live.db --agent-id live --hive localhost:$PORT \
		--hive-ca fleet-ca.pem --hive-cert live.pem --hive-key live.key --stats-interval 0 >live.out 2>live.err &
	LPID=$!
	for _ in $(seq 100); do
		"$IMMUNECTL" --socket live.sock verdicts 2>/dev/null | grep -q "10.9.8.7" && break
		sleep 0.1
	done
	"$IMMUNECTL" --socket live.sock verdicts | grep -q "10.9.8.7.*hive" && ok "the live agent got the fleet set on connect" ||
		notok "the live agent got the fleet set on connect: $(tail -3 live.err)"
	"$IMMUNECTL" --socket hive.sock block net 10.9.8.8 --fleet >/dev/null
	for _ in $(seq 100); do
		"$IMMUNECTL" --socket live.sock verdicts | grep -q "10.9.8.8" && break
		sleep 0.1
	done
	"$IMMUNECTL" --socket live.sock verdicts | grep -q "10.9.8.8.*hive" && ok "a new fleet block reaches the live agent" ||
		notok "a new fleet block reaches the live agent"
	timeout 5 "$PROBE" connect 10.9.8.8 9 | grep -q EPERM && ok "and is enforced there" ||
		notok "and is enforced there"
	"$IMMUNECTL" --socket hive.sock unblock net 10.9.8.8 --fleet >/dev/null
	for _ in $(seq 100); do
		"$IMMUNECTL" --socket live.sock verdicts | grep -q "10.9.8.8" || break
		sleep 0.1
	done
	"$IMMUNECTL" --socket live.sock verdicts | grep -q "10.9.8.8" && notok "a fleet unblock is removed from the agent" ||
		ok "a fleet unblock is removed from the agent"
	# an IOC set for the fleet: checked whole at the Hive, applied whole by the agent
	printf 'ip:10.9.8.10\nnot-an-indicator\n' >bad.ioc
	out=$("$IMMUNECTL" --socket hive.sock ioc-push bad-ips bad.ioc 2>&1)
	echo "$out" | grep -q "hive-bad-ips:2" && ok "a malformed IOC set is refused with file:line" ||
		notok "a malformed IOC set is refused with file:line: $out"
	printf '# fleet IOCs\nip:10.9.8.10\n' >good.ioc
	"$IMMUNECTL" --socket hive.sock ioc-push bad-ips good.ioc >/dev/null && ok "immunectl ioc-push on the Hive" ||
		notok "immunectl ioc-push on the Hive"
	for _ in $(seq 100); do
		grep -q "IOC set bad-ips version 1 applied" live.err && break
		sleep 0.1
	done
	grep -q "IOC set bad-ips version 1 applied" live.err && ok "the live agent applied the pushed IOC set" ||
		notok "the live agent applied the pushed IOC set: $(tail -3 live.err)"
	timeout 5 "$PROBE" connect 10.9.8.10 9 >/dev/null
	for _ in $(seq 50); do
		grep -q "10.9.8.10" live.out && break
		sleep 0.1
	done
	grep "10.9.8.10" live.out | grep -q "ioc" && ok "a connect to the pushed indicator is an incident" ||
		notok "a connect to the pushed indicator is an incident: $(tail -2 live.out)"
	"$IMMUNECTL" --socket live.sock block net 10.9.8.9 --fleet >/dev/null
	for _ in $(seq 100); do
		q "SELECT target FROM fleet_verdicts" | grep -q 10.9.8.9 && break
		sleep 0.1
	done
	q "SELECT target FROM fleet_verdicts" | grep -q 10.9.8.9 && ok "immunectl block --fleet on an agent reaches the Hive" ||
		notok "immunectl block --fleet on an agent reaches the Hive"
	kill "$LPID" && wait "$LPID" 2>/dev/null
	LPID=
else
	echo "SKIPPED: the fleet-block part needs root (pinned maps)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
