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
SRC=$(cd "$(dirname "$0")/.." && pwd)
PEER="python3 $SRC/selftests/tools/hive_peer.py"
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

# ---- certificates, made here with the openssl CLI (mkca, mkcert, gen_events: selftests/lib/hive.sh)
. "$SRC/selftests/lib/hive.sh"
mkca fleet-ca
mkca other-ca
mkcert hive "DNS:localhost,IP:127.0.0.1" fleet-ca
for a in a1 a2 a3 a4 a5 a6 a7 live p1 p2 p3 dl big; do mkcert "$a" "DNS:$a" fleet-ca; done
mkcert uri1 "URI:spiffe://fleet/web-1" fleet-ca
mkcert rogue "DNS:rogue" other-ca
# an expired certificate: signed by the fleet CA for January 2020
mkdir -p ca/newcerts && : >ca/index.txt && echo 1000 >ca/serial && echo 01 >ca/crlnumber
cat >ca.cnf <<EOF
[ca]
default_ca = d
[d]
dir = ca
database = ca/index.txt
new_certs_dir = ca/newcerts
serial = ca/serial
crlnumber = ca/crlnumber
default_crl_days = 30
default_days = 30
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
gen_events ev300.json 300 10000
gen_events ev3000.json 3000 20000
gen_events ev5.json 5 90000
: >empty.json

start_hive() {
	"$IMMUNED" --role hive --listen 127.0.0.1:$PORT --ca fleet-ca.pem --cert hive.pem --key hive.key \
		--db hive.db --socket hive.sock --accept-agents 2 --max-per-address 1000 "$@" 2>>hive.log &
	HPID=$!
	hive_answers hive.sock
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
grep -q "agent id 'a1' is not its certificate's identity (CN 'a2')" hive.log && ok "... and the Hive says why" ||
	notok "... and the Hive says why: $(tail -2 hive.log)"
# exactly the certificate's identity: CN a1 may not say hello as a1-web (no prefixes)
"$IMMUNED" --replay ev5.json --db pfx.db --agent-id a1-web --hive localhost:$PORT --hive-ca fleet-ca.pem \
	--hive-cert a1.pem --hive-key a1.key --hive-drain-seconds 2 >/dev/null 2>pfx.err &&
	notok "an id that only starts with the certificate's CN is refused" ||
	ok "an id that only starts with the certificate's CN is refused"
check "... nothing stored under it" "0" "$(q "SELECT count(*) FROM incidents WHERE agent_id = 'a1-web'")"
# a refused hello is told why: the agent logs it in one line naming the Hive
grep -qF "immuned: hive localhost:$PORT: down: refused by the Hive: identity: agent id 'a1-web' is not this certificate's identity (CN 'a1')" pfx.err &&
	ok "a refused agent is told why and logs it naming the Hive" || notok "a refused agent is told why: $(tail -3 pfx.err)"
hello() { printf '{"type":"hello","agent_id":"%s","hostname":"%s","version":"t","verdict_version":%s}\n' "$1" "$1" "${2:-0}"; }
out=$( (hello spiffe://fleet/web-1; echo '{"type":"heartbeat"}') | $PEER $PORT fleet-ca.pem uri1.pem uri1.key --until heartbeat 2>&1)
echo "$out" | grep -q '"type":"heartbeat"' && ok "a SAN URI is an identity too (spiffe://fleet/web-1)" ||
	notok "a SAN URI is an identity too: $out"

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


# ---- exact 64-bit integers, and a nack per refused incident (the batch is not lost)
DOC='{\"a\":1}'
item() { # SEQ [DOC] [EXTRA]
	printf '{"seq":%s,"time_ns":1733000000123456789,"rule_id":"r","rule_title":"t","event_kind":"exec","action":"alert","doc":"%s"%s}' \
		"$1" "${2:-$DOC}" "${3:-}"
}
batch="$(item 9007199254740992),$(item 9007199254740993),$(item 9223372036854775807),$(item 9223372036854775808)"
batch="$batch,$(item 18446744073709551616),$(item 1.5),$(item 7 '[]'),$(item 8 '{}' ',"pid":-1'),$(item 9 '{}' ',"uid":"0"')"
out=$( (hello p1; echo "{\"type\":\"incidents\",\"batch\":[$batch]}"; echo '{"type":"heartbeat"}') |
	$PEER $PORT fleet-ca.pem p1.pem p1.key --until heartbeat 2>&1)
ack=$(echo "$out" | grep '"type":"ack"')
echo "$out" | grep '^{' >>frames.json
echo "$ack" | grep -q '"seqs":\[9007199254740992,9007199254740993,9223372036854775807\]' &&
	ok "seqs 2^53, 2^53+1 and 2^63-1 are acked exactly" || notok "seqs acked exactly: $out"
check "... and stored exactly" "9007199254740992 9007199254740993 9223372036854775807" \
	"$(q "SELECT agent_seq FROM incidents WHERE agent_id = 'p1' ORDER BY agent_seq" | tr '\n' ' ' | sed 's/ $//')"
check "time_ns is stored exactly" "1733000000123456789" "$(q "SELECT DISTINCT time_ns FROM incidents WHERE agent_id = 'p1'")"
check "2^63, 2^64, 1.5, a doc that is no object, pid -1, uid \"0\": six nacks" "6" \
	"$(echo "$ack" | grep -o '"reason"' | wc -l)"
echo "$ack" | grep -q '{"index":3,"reason":"\\"seq\\" must be an integer' && ok "... a nack names the item and why" ||
	notok "... a nack names the item and why: $ack"
echo "$ack" | grep -q '"seq":7,"reason":"\\"doc\\" must be the text of a JSON object"' &&
	ok "... a doc that is no JSON object is refused with its seq" || notok "... doc refused: $ack"
echo "$out" | grep -q '"type":"heartbeat"' && ok "the connection stays up after refused incidents" ||
	notok "the connection stays up after refused incidents: $out"

# ---- a real agent: a refused incident goes to its dead letters, the rest is delivered
agent dl ev5.json 20 || notok "agent dl delivers its first incidents"
sqlite3 dl.db "INSERT INTO incidents (host, time_ns, rule_id, rule_title, event_kind, action, doc)
	VALUES ('h', 1, 'bad', 't', 'exec', 'alert', 'not json'), ('h', 2, 'good', 't', 'exec', 'alert', '{}')"
agent dl empty.json 20 && ok "an agent goes on past an incident the Hive refuses" ||
	notok "an agent goes on past an incident the Hive refuses: $(tail -3 dl.err)"
check "... it is kept in hive_dead_letters with the reason" '"doc" must be the text of a JSON object' \
	"$(sqlite3 dl.db "SELECT reason FROM hive_dead_letters d JOIN incidents i ON i.id = d.incident_id WHERE i.rule_id = 'bad'")"
check "... and the next one is stored" "1" "$(q "SELECT count(*) FROM incidents WHERE agent_id = 'dl' AND rule_id = 'good'")"

# ---- incidents over the frame bound: batches bounded by bytes, the largest shortened with a flag
agent big empty.json 5 >/dev/null 2>&1
sqlite3 big.db "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
	INSERT INTO incidents (host, time_ns, rule_id, rule_title, event_kind, action, command_line, doc)
	SELECT 'h', i, 'long', 't', 'exec', 'alert', replace(hex(zeroblob(30000)), '00', 'x'),
		'{\"process\":{\"command_line\":\"' || replace(hex(zeroblob(30000)), '00', 'x') || '\"}}' FROM n;
	INSERT INTO incidents (host, time_ns, rule_id, rule_title, event_kind, action, command_line, doc)
	VALUES ('h', 99, 'huge', 't', 'exec', 'alert', replace(hex(zeroblob(400000)), '00', 'y'),
		'{\"process\":{\"command_line\":\"' || replace(hex(zeroblob(400000)), '00', 'y') || '\"}}')"
agent big empty.json 30 && ok "30 incidents of 120 KB and one of 1.6 MB are delivered" ||
	notok "long incidents are delivered: $(tail -3 big.err)"
check "... all 31 stored" "31" "$(q "SELECT count(*) FROM incidents WHERE agent_id = 'big' AND rule_id IN ('long', 'huge')")"
check "... the one over the bound shortened, and it says so" "4096 1" \
	"$(q "SELECT length(command_line), json_extract(doc, '$.immune.shortened') FROM incidents WHERE agent_id = 'big' AND rule_id = 'huge'" | tr '|' ' ')"

# ---- guard rails on every fleet verdict, the operator's included
for t in "net 0.0.0.0/0|wider than /16" "net ::/0|wider than /48" "net 10.0.0.0/8|wider than /16" \
	"net 127.0.0.1|covers the Hive's own address" "exec /bin/sh|is protected" "exec /usr/sbin/immuned|the agent's own binary"; do
	v=${t%%|*}
	out=$("$IMMUNECTL" --socket hive.sock block $v --fleet 2>&1) && notok "block $v --fleet is refused" ||
		{ echo "$out" | grep -q "${t#*|}" && ok "block $v --fleet is refused: ${t#*|}" || notok "block $v refused: $out"; }
done
check "... none of them reached the fleet set" "0" \
	"$(q "SELECT count(*) FROM fleet_verdicts WHERE target IN ('0.0.0.0/0', '::/0', '10.0.0.0/8', '127.0.0.1', '/bin/sh')")"

# ---- agents propose, the Hive decides
sha=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
prop() { printf '{"type":"verdict","verb":"%s","kind":"%s","target":"%s","source":"rule:t","sha256":"%s"}\n' "$@"; }
(hello p1; prop block exec /tmp/evil-1 $sha; prop unblock net 10.9.8.7 $sha; prop allow exec /tmp/evil-2 $sha
	prop block net 0.0.0.0/0 $sha; prop block exec /usr/bin/dash $sha; echo '{"type":"heartbeat"}') |
	$PEER $PORT fleet-ca.pem p1.pem p1.key --until heartbeat >/dev/null 2>&1
check "an agent's block is a proposal, not a fleet verdict" "0" "$(q "SELECT count(*) FROM fleet_verdicts WHERE target = '/tmp/evil-1'")"
"$IMMUNECTL" --socket hive.sock proposals | grep -q "pending.*p1.*exec.*/tmp/evil-1" &&
	ok "immunectl proposals lists it" || notok "immunectl proposals lists it: $("$IMMUNECTL" --socket hive.sock proposals)"
check "agents may not unblock, allow, block 0.0.0.0/0 or a shell: 4 refusals logged" "4" \
	"$(grep "agent p1: proposal .* refused" hive.log | wc -l)"
id=$(q "SELECT id FROM fleet_proposals WHERE target = '/tmp/evil-1'")
"$IMMUNECTL" --socket hive.sock approve "$id" | grep -q "approved" && ok "immunectl approve" || notok "immunectl approve"
check "... the approved proposal is a fleet verdict" "deny proposal:$id:p1" \
	"$(q "SELECT action, source FROM fleet_verdicts WHERE target = '/tmp/evil-1'" | tr '|' ' ')"
(hello p2; prop block exec /tmp/evil-3 $sha; echo '{"type":"heartbeat"}') |
	$PEER $PORT fleet-ca.pem p2.pem p2.key --until heartbeat >/dev/null 2>&1
id=$(q "SELECT id FROM fleet_proposals WHERE target = '/tmp/evil-3'")
"$IMMUNECTL" --socket hive.sock reject "$id" "not today" | grep -q rejected && ok "immunectl reject" || notok "immunectl reject"
check "... nothing in the fleet set" "0" "$(q "SELECT count(*) FROM fleet_verdicts WHERE target = '/tmp/evil-3'")"
# --accept-agents 2: the same content from two distinct agents
(hello p1; prop block exec /tmp/evil-4 $sha; echo '{"type":"heartbeat"}') |
	$PEER $PORT fleet-ca.pem p1.pem p1.key --until heartbeat >/dev/null 2>&1
check "one agent's report waits" "0" "$(q "SELECT count(*) FROM fleet_verdicts WHERE target = '/tmp/evil-4'")"
(hello p2; prop block exec /tmp/evil-4 $sha; echo '{"type":"heartbeat"}') |
	$PEER $PORT fleet-ca.pem p2.pem p2.key --until heartbeat >/dev/null 2>&1
check "the same SHA-256 from a second agent is accepted by the policy" "policy:2-agents" \
	"$(q "SELECT source FROM fleet_verdicts WHERE target = '/tmp/evil-4'")"

# ---- revocation: refused at hello, and a live link closed at once
(hello p3; sleep 3) | $PEER $PORT fleet-ca.pem p3.pem p3.key --read 6 >p3.out 2>p3.err &
pp=$!
sleep 1
"$IMMUNECTL" --socket hive.sock agent revoke p3 | grep -q "revoked (1 connection" && ok "immunectl agent revoke closes its link" ||
	notok "immunectl agent revoke closes its link"
wait $pp
grep -q closed p3.err && ok "... the revoked agent's connection is gone" || notok "... the revoked agent's connection: $(cat p3.err)"
grep -q '^{"type":"refused","code":"revoked","reason":"agent p3 is revoked at this Hive (immunectl agent revoke)"}$' p3.out &&
	ok "... told why on its live link, in the refused frame a hello gets" || notok "... told why on its live link: $(cat p3.out)"
grep '^{"type":"refused"' p3.out >>frames.json
out=$( (hello p3; echo '{"type":"heartbeat"}') | $PEER $PORT fleet-ca.pem p3.pem p3.key --until heartbeat 2>&1)
echo "$out" | grep -q '"type":"heartbeat"' && notok "a revoked agent is refused at hello" || ok "a revoked agent is refused at hello"
grep -q "agent p3 is revoked: refused" hive.log && ok "... and the Hive says so" || notok "... and the Hive says so"
echo "$out" | grep '^{"type":"refused"' >>frames.json
echo "$out" | grep -q '^{"type":"refused","code":"revoked","reason":"agent p3 is revoked at this Hive' &&
	ok "... and tells the agent why in a refused frame" || notok "... and tells the agent why: $out"
# a real agent refused at hello: one line, and no tight reconnect loop (the next try is 15-30 s away)
before=$(grep -c "agent p3 is revoked: refused" hive.log)
"$IMMUNED" --replay ev5.json --db p3.db --agent-id p3 --hive localhost:$PORT --hive-ca fleet-ca.pem \
	--hive-cert p3.pem --hive-key p3.key --hive-drain-seconds 5 >/dev/null 2>p3a.err &&
	notok "a revoked agent's incidents are not taken" || ok "a revoked agent's incidents are not taken"
check "... it said the refusal once" "1" "$(grep -c "down: refused by the Hive: revoked: agent p3 is revoked at this Hive" p3a.err)"
check "... and tried once in 5 s, not in a loop" "1" "$(($(grep -c "agent p3 is revoked: refused" hive.log) - before))"
# un-revoke: persisted, logged with who asked, the next hello served
out=$("$IMMUNECTL" --socket hive.sock agent unrevoke p3 2>&1)
check "immunectl agent unrevoke" "agent p3 unrevoked: its hello is served again" "$out"
grep -q "agent p3 unrevoked by operator:0 (revoked by operator:0)" hive.log && ok "... logged with who asked" ||
	notok "... logged with who asked: $(tail -2 hive.log)"
check "... gone from fleet_revoked" "0" "$(q "SELECT count(*) FROM fleet_revoked WHERE agent_id = 'p3'")"
out=$( (hello p3; echo '{"type":"heartbeat"}') | $PEER $PORT fleet-ca.pem p3.pem p3.key --until heartbeat 2>&1)
echo "$out" | grep -q '"type":"heartbeat"' && ok "an unrevoked agent is served again" || notok "an unrevoked agent is served: $out"
out=$("$IMMUNECTL" --socket hive.sock agent unrevoke p3 2>&1)
rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "agent p3 is not revoked" && ok "unrevoking an agent that is not revoked is an error" ||
	notok "unrevoking an agent that is not revoked (exit $rc): $out"

# ---- 150 idle TCP connections do not keep a real agent out; the loop stays up
$PEER $PORT --idle 150 --hold 8 >idle.out &
ip=$!
sleep 1
agent a1 ev5.json 20 && ok "an agent is served while 150 idle connections wait ($(cat idle.out))" ||
	notok "an agent is served while 150 idle connections wait: $(tail -3 a1.err)"
wait $ip
"$IMMUNECTL" --socket hive.sock --json status | grep -q '"connections_refused":[[:space:]]*[1-9]' &&
	ok "... the oldest handshakes gave way (counted in status)" || notok "... connections_refused in status"

# ---- one peer streaming 1 MiB frames does not hold up another's heartbeat
python3 -c '
import json
pad = "x" * 1000000
print(json.dumps({"type": "hello", "agent_id": "p1", "hostname": "p1", "version": "t", "verdict_version": 0}))
for i in range(40):
    print(json.dumps({"type": "heartbeat", "pad": pad}))' >stream.in
$PEER $PORT fleet-ca.pem p1.pem p1.key --read 1 <stream.in >/dev/null 2>&1 &
sp=$!
sleep 0.3
t0=$(date +%s%N)
out=$( (hello p2; echo '{"type":"heartbeat"}') | $PEER $PORT fleet-ca.pem p2.pem p2.key --until heartbeat --read 10 2>&1)
t1=$(date +%s%N)
wait $sp
ms=$(((t1 - t0) / 1000000))
echo "$out" | grep -q '"type":"heartbeat"' && [ "$ms" -lt 3000 ] &&
	ok "a heartbeat is answered in $ms ms while another peer streams 40 frames of 1 MB" ||
	notok "a heartbeat while another peer streams: $ms ms: $out"

# ---- out of descriptors: accept pauses instead of spinning, and resumes
(ulimit -n 40 && exec "$IMMUNED" --role hive --listen 127.0.0.1:$((PORT + 3)) --ca fleet-ca.pem --cert hive.pem \
	--key hive.key --db emfile.db --socket emfile.sock --max-per-address 1000) 2>emfile.log &
EPID=$!
hive_answers emfile.sock
$PEER $((PORT + 3)) --idle 60 --hold 4 >/dev/null &
ip=$!
sleep 1.5
c0=$(awk '{print $14 + $15}' /proc/$EPID/stat)
sleep 2
c1=$(awk '{print $14 + $15}' /proc/$EPID/stat)
grep -q "accept paused for 1 s: Too many open files" emfile.log && ok "EMFILE pauses accept (logged)" ||
	notok "EMFILE pauses accept: $(tail -3 emfile.log)"
[ $((c1 - c0)) -lt 50 ] && ok "... and the loop does not spin ($((c1 - c0)) ticks of CPU in 2 s)" ||
	notok "... the loop spins: $((c1 - c0)) ticks of CPU in 2 s"
wait $ip
sleep 1.5
HIVE_ADDR=localhost:$((PORT + 3)) agent a3 ev5.json 20 && ok "... and accept resumes: an agent is served" ||
	notok "... and accept resumes: $(tail -2 a3.err)"
kill $EPID && wait $EPID 2>/dev/null

# ---- a fleet set of several MiB: sent in parts, no hello fails (the old use-after-free)
kill "$HPID" && wait "$HPID" 2>/dev/null
sqlite3 hive.db "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
	INSERT INTO fleet_verdicts SELECT 'exec', '/opt/immune-test/' || replace(hex(zeroblob(200)), '00', 'z') || '-' || i,
		'deny', 'operator:0', 1 FROM n;
	UPDATE fleet_meta SET value = value + 1 WHERE key = 'verdict_version'"
start_hive || notok "the Hive restarts with 6000 fleet verdicts"
total=$(q "SELECT count(*) FROM fleet_verdicts")
out=$(hello big | $PEER $PORT fleet-ca.pem big.pem big.key --read 5 2>&1)
parts=$(echo "$out" | grep -c '"type":"verdicts"')
echo "$out" | grep '^{' >>frames.json
v=$("$SRC/selftests/validate-json" "$SRC/schema/hive-messages.schema.json" frames.json 2>&1)
rc=$?
case $v in
SKIPPED*) echo "$v" ;;
*) [ $rc -eq 0 ] && ok "the Hive's frames are valid against schema/hive-messages.schema.json ($(echo "$v" | tail -1))" ||
	notok "the Hive's frames against schema/hive-messages.schema.json: $v" ;;
esac
got=$(echo "$out" | grep '"type":"verdicts"' | python3 -c 'import sys, json; print(sum(len(json.loads(l)["verdicts"]) for l in sys.stdin))')
check "the whole set ($total verdicts, $(q "SELECT sum(length(target)) / 1024 FROM fleet_verdicts") KiB) arrives" "$total" "$got"
check "... in parts of 128" "$(((total + 127) / 128))" "$parts"
agent a2 ev5.json 20 && ok "an agent's hello still succeeds" || notok "an agent's hello still succeeds: $(tail -2 a2.err)"
sqlite3 hive.db "DELETE FROM fleet_verdicts WHERE target LIKE '/opt/immune-test/%'"
"$IMMUNECTL" --socket hive.sock unblock exec /tmp/evil-1 --fleet >/dev/null
"$IMMUNECTL" --socket hive.sock unblock exec /tmp/evil-4 --fleet >/dev/null

# ---- a CRL (--crl): a revoked certificate is refused in the handshake, the others are served
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout gone.key -out gone.csr -subj "/CN=gone" 2>/dev/null
openssl ca -batch -config ca.cnf -cert fleet-ca.pem -keyfile fleet-ca.key -in gone.csr -out gone.pem >/dev/null 2>&1
openssl ca -config ca.cnf -cert fleet-ca.pem -keyfile fleet-ca.key -revoke gone.pem >/dev/null 2>&1
openssl ca -config ca.cnf -cert fleet-ca.pem -keyfile fleet-ca.key -gencrl -out fleet.crl >/dev/null 2>&1
kill "$HPID" && wait "$HPID" 2>/dev/null
start_hive --crl fleet.crl && ok "the Hive starts with --crl" || notok "the Hive starts with --crl: $(tail -2 hive.log)"
agent gone ev5.json 3 && notok "a certificate in the CRL is refused" || ok "a certificate in the CRL is refused"
grep -q "certificate revoked" hive.log && ok "... and the Hive says why" || notok "... and the Hive says why: $(tail -3 hive.log)"
grep -q "refused by the Hive: certificate_revoked: this agent's certificate (CN 'gone') is revoked in the Hive's CRL" gone.err &&
	ok "... and so does the agent, told by a refused frame" || notok "... and so does the agent: $(tail -3 gone.err)"
agent a3 ev5.json 20 && ok "the others are served with --crl" || notok "the others are served with --crl: $(tail -2 a3.err)"
# a served link whose certificate the re-read CRL lists is told so, as at a handshake
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout late.key -out late.csr -subj "/CN=late" 2>/dev/null
openssl ca -batch -config ca.cnf -cert fleet-ca.pem -keyfile fleet-ca.key -in late.csr -out late.pem >/dev/null 2>&1
hello late | $PEER $PORT fleet-ca.pem late.pem late.key --read 15 --until refused >late.out 2>&1 &
lp=$!
for _ in $(seq 50); do grep -q ": agent late (.*) connected" hive.log && break; sleep 0.1; done
openssl ca -config ca.cnf -cert fleet-ca.pem -keyfile fleet-ca.key -revoke late.pem >/dev/null 2>&1
openssl ca -config ca.cnf -cert fleet-ca.pem -keyfile fleet-ca.key -gencrl -out fleet.crl.new >/dev/null 2>&1 && mv fleet.crl.new fleet.crl
wait "$lp"
grep -q '"type":"refused","code":"certificate_revoked"' late.out &&
	ok "a served agent whose certificate the re-read CRL lists gets a refused frame (certificate_revoked)" ||
	notok "a served agent whose certificate the re-read CRL lists gets a refused frame: $(tail -3 late.out)"
grep -q "agent late: its certificate is in the CRL now: refused" hive.log && ok "... and the Hive logs it" ||
	notok "... and the Hive logs it: $(tail -3 hive.log)"

# ---- the Hive's control socket replies against schema/socket.schema.json; immunectl prints them
(hello p1; prop block exec /tmp/evil-9 $sha; echo '{"type":"heartbeat"}') |
	$PEER $PORT fleet-ca.pem p1.pem p1.key --until heartbeat >/dev/null 2>&1
PY=
for p in python3 /usr/bin/python3; do
	command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jsonschema' 2>/dev/null && PY=$p && break
done
if [ -n "$PY" ]; then
	"$PY" - "$SRC/schema/socket.schema.json" hive.sock "$(q "SELECT id FROM fleet_proposals WHERE target = '/tmp/evil-9'")" <<'EOF2' >schema.out
import json, socket, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
def rpc(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[2])
    s.sendall(json.dumps(req).encode() + b"\n")
    buf = b""
    while b"\n" not in buf:
        c = s.recv(65536)
        if not c:
            break
        buf += c
    return json.loads(buf.split(b"\n")[0])
cases = [({"cmd": "status"}, "hive_status"),
         ({"cmd": "block", "kind": "net", "target": "10.9.8.30", "fleet": True}, "hive_put"),
         ({"cmd": "verdicts"}, "hive_verdicts"),
         ({"cmd": "unblock", "kind": "net", "target": "10.9.8.30"}, "hive_put"),
         ({"cmd": "proposals", "state": "all"}, "proposals"),
         ({"cmd": "reject", "proposal": int(sys.argv[3]), "reason": "schema test"}, "decide"),
         ({"cmd": "agent_revoke", "agent_id": "nobody"}, "agent_revoke"),
         ({"cmd": "agent_unrevoke", "agent_id": "nobody"}, "agent_unrevoke"),
         ({"cmd": "ioc_push", "name": "schema-test", "text": "ip:10.9.8.31\n"}, "ioc_push"),
         ({"cmd": "incidents", "limit": 3}, "incidents")]
for req, rdef in cases:
    s = dict(schema)
    s.pop("oneOf", None)
    errs = [e.message for e in Draft202012Validator(dict(s, **{"$ref": "#/$defs/request"})).iter_errors(req)]
    rep = rpc(req)
    if rep.get("ok") is not True:
        errs.append("refused: %s" % rep.get("error"))
    errs += [e.message for e in Draft202012Validator(dict(s, **{"$ref": "#/$defs/replies/" + rdef})).iter_errors(rep)]
    print(("ok" if not errs else "not ok") + " - the Hive's %s reply matches replies/%s %s" % (req["cmd"], rdef, errs[:2] if errs else ""))
EOF2
	while read -r line; do
		case $line in ok*) ok "${line#ok - }" ;; *) notok "${line#not ok - }" ;; esac
	done <schema.out
	[ -s schema.out ] || notok "the Hive's replies against the schema: no output"
else
	echo "SKIPPED: the Hive's replies against the schema need python3-jsonschema"
fi
out=$("$IMMUNECTL" --socket hive.sock block net 10.9.8.32 --fleet)
echo "$out" | grep -q "^blocked net 10.9.8.32 (fleet verdicts version [0-9]*)" && ok "immunectl prints the Hive's block reply ($out)" ||
	notok "immunectl prints the Hive's block reply: $out"
out=$("$IMMUNECTL" --socket hive.sock verdicts)
echo "$out" | grep "10.9.8.32" | grep -q "deny.*net.*operator:" && ! echo "$out" | grep -q "not in the map" &&
	ok "immunectl prints the Hive's verdicts" || notok "immunectl prints the Hive's verdicts: $out"
"$IMMUNECTL" --socket hive.sock unblock net 10.9.8.32 --fleet >/dev/null

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
		q "SELECT target FROM fleet_proposals" | grep -q 10.9.8.9 && break
		sleep 0.1
	done
	check "immunectl block --fleet on an agent is a proposal at the Hive" "pending" \
		"$(q "SELECT state FROM fleet_proposals WHERE agent_id = 'live' AND target = '10.9.8.9'")"
	check "... not a fleet verdict" "0" "$(q "SELECT count(*) FROM fleet_verdicts WHERE target = '10.9.8.9'")"
	out=$("$IMMUNECTL" --socket live.sock unblock net 10.9.8.9 --fleet 2>&1) &&
		notok "unblock --fleet on an agent says the Hive will not take it" ||
		{ echo "$out" | grep -q "may only propose blocks" && ok "unblock --fleet on an agent says the Hive will not take it" ||
			notok "unblock --fleet on an agent: $out"; }
	# the fleet cannot cut an agent from its Hive: a block covering the Hive's address is not applied there
	sqlite3 hive.db "INSERT INTO fleet_verdicts VALUES ('net', '127.0.0.0/24', 'deny', 'operator:0', 1)"
	"$IMMUNECTL" --socket hive.sock block net 10.9.8.11 --fleet >/dev/null
	for _ in $(seq 100); do
		grep -q "127.0.0.0/24 not applied here" live.err && break
		sleep 0.1
	done
	grep -q "127.0.0.0/24 not applied here: net 127.0.0.0/24 covers this agent's link to the Hive" live.err &&
		ok "an agent does not apply a fleet block on its own link to the Hive" ||
		notok "an agent does not apply a fleet block on its own link: $(tail -3 live.err)"
	sqlite3 hive.db "DELETE FROM fleet_verdicts WHERE target = '127.0.0.0/24'"
	st=$("$IMMUNECTL" --socket live.sock --json status)
	echo "$st" | grep -q '"fleet_verdicts_exempted":[[:space:]]*[1-9]' && echo "$st" | grep -q '"dead_letters":[[:space:]]*0' &&
		ok "the agent's status counts exempted fleet verdicts and its dead letters" ||
		notok "the agent's status counts exempted fleet verdicts and dead letters: $st"
	kill "$LPID" && wait "$LPID" 2>/dev/null
	LPID=
else
	echo "SKIPPED: the fleet-block part needs root (pinned maps)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
