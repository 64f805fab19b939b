#!/usr/bin/env bash
# Two Hive instances on one PostgreSQL (a throwaway cluster from Debian's
# packages: initdb as nobody in a temporary directory, a Unix socket only),
# agents spread over both; one instance killed with SIGKILL mid-stream and
# restarted, then PostgreSQL restarted mid-stream: every incident stored
# exactly once, counted by (agent, seq) in the database. A fleet block, an
# IOC set and a revocation made on one instance reach the agents of the
# other; immunectl on either sees the whole fleet.
#   selftests/hive_pg.sh BUILD_DIR
set -u
BUILD=${1:-build}
IMMUNED=$(cd "$BUILD" && pwd)/immuned
IMMUNECTL=$(cd "$BUILD" && pwd)/immunectl
SRC=$(cd "$(dirname "$0")/.." && pwd)
PEER="python3 $SRC/selftests/tools/hive_peer.py"
PGT=$SRC/selftests/tools/pg-temp
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1 (expected '$2', got '$3')"; fi; }
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root (initdb runs as nobody through runuser)"; exit 0; }
command -v openssl >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v psql >/dev/null || {
	echo "SKIPPED: needs openssl, psql and a PostgreSQL server (postgresql-15)"
	exit 0
}

W=$(mktemp -d /tmp/immune-hivepg.XXXXXX)
PGD=$(mktemp -d /tmp/immune-pg.XXXXXX)
P1=$((20000 + $$ % 20000))
P2=$((P1 + 1))
declare -A HP=()
PEERS=()
cleanup() {
	for i in "${!HP[@]}"; do kill "${HP[$i]}" 2>/dev/null && wait "${HP[$i]}" 2>/dev/null; done
	for p in "${PEERS[@]}"; do kill "$p" 2>/dev/null; done
	"$PGT" stop "$PGD" 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "kept $W $PGD"; else rm -rf "$W" "$PGD"; fi
}
trap cleanup EXIT
cd "$W" || exit 1
. "$SRC/selftests/lib/hive.sh"

URI=$(IMMUNE_PG_OWNER=$$ "$PGT" start "$PGD") && ok "a PostgreSQL cluster of nobody's, on a Unix socket in $PGD" ||
	{ notok "PostgreSQL starts: $URI"; echo "$PASS passed, $FAIL failed"; exit 1; }
q() { psql "$URI" -tAX -F' ' -c "$1"; }

mkca fleet-ca
mkcert hive "DNS:localhost,IP:127.0.0.1" fleet-ca
for a in a1 a2 a3 a4 w1 w2 r1; do mkcert "$a" "DNS:$a" fleet-ca; done
gen_events ev3000.json 3000 20000
: >empty.json

start_hive() { # N PORT: h1 has its store on its command line, h2 in its config file
	local where=(--store "$URI" --instance "h$1")
	if [ "$1" = 2 ]; then
		printf 'store = %s\ninstance = h%s\n' "$URI" "$1" >"h$1.conf" && chmod 0600 "h$1.conf"
		where=(--config "h$1.conf")
	fi
	"$IMMUNED" --role hive --listen 127.0.0.1:$2 --ca fleet-ca.pem --cert hive.pem --key hive.key \
		"${where[@]}" --socket "h$1.sock" --max-per-address 1000 2>>"h$1.log" &
	HP[$1]=$!
	hive_answers "h$1.sock" 100
}
agent() { # NAME PORT[,HOST:PORT...] EVENTS DRAIN
	"$IMMUNED" --replay "$3" --db "$1.db" --agent-id "$1" --hive "localhost:$2" --hive-ca fleet-ca.pem \
		--hive-cert "$1.pem" --hive-key "$1.key" --hive-drain-seconds "$4" --format json >"$1.out" 2>>"$1.err"
}
stored() { q "SELECT count(*) FROM incidents WHERE agent_id = '$1'"; }

start_hive 1 $P1 && ok "instance h1 starts on PostgreSQL (the schema made by its migrations)" || notok "instance h1 starts: $(tail -3 h1.log)"
start_hive 2 $P2 && ok "instance h2 starts on the same database" || notok "instance h2 starts: $(tail -3 h2.log)"
grep -q '^immuned-hive: instance h2 listening on .*, PostgreSQL store,' h2.log &&
	ok "instance h2 took its store and name from its config file (store = URI, instance = h2)" ||
	notok "instance h2's config file: $(grep listening h2.log)"
check "the store is at schema version 2" "2" "$(q 'SELECT max(version) FROM hive_migrations')"

# ---- agents on both instances; one instance killed with SIGKILL mid-stream and restarted
# a1 and a3 are pinned to h1 and h2; a2 and a4 are given both when agents fail over
# (--hive A:P,B:P), and the instance killed is the one a2 prefers, so a2 fails over mid-stream
K=1
if "$IMMUNED" --help 2>&1 | grep -q 'HOST:PORT\[,HOST:PORT'; then
	BOTH="$P1,localhost:$P2"
	agent a2 "$BOTH" empty.json 5
	grep -q "agent a2 (" h2.log && K=2
	ok "agents a2 and a4 take both instances and fail over (a2 prefers h$K)"
else
	BOTH=
	echo "# this immuned takes one --hive address: a2 is pinned to h1, a4 to h2"
fi
agent a1 $P1 ev3000.json 90 & p_a1=$!
agent a2 "${BOTH:-$P1}" ev3000.json 90 & p_a2=$!
agent a3 $P2 ev3000.json 90 & p_a3=$!
agent a4 "${BOTH:-$P2}" ev3000.json 90 & p_a4=$!
for _ in $(seq 200); do
	[ "$(stored a2)" -gt 200 ] 2>/dev/null && break
	sleep 0.05
done
kill -9 "${HP[$K]}"
wait "${HP[$K]}" 2>/dev/null
before=$(stored a2)
[ "$before" -lt 3000 ] && ok "h$K killed with SIGKILL mid-stream ($before of a2's 3000 stored)" ||
	notok "h$K killed mid-stream (a2 had all $before already: too fast to test)"
sleep 1
start_hive $K $([ $K = 1 ] && echo $P1 || echo $P2) && ok "h$K restarts" || notok "h$K restarts: $(tail -3 h$K.log)"
# ---- PostgreSQL restarted under both instances, mid-stream
for _ in $(seq 200); do
	[ "$(stored a3)" -gt 1000 ] 2>/dev/null && break
	sleep 0.05
done
mid=$(q "SELECT count(*) FROM incidents")
"$PGT" restart "$PGD" && ok "PostgreSQL restarted mid-stream ($mid of 12000 stored)" || notok "PostgreSQL restarts"
for a in a1 a2 a3 a4; do
	eval "wait \$p_$a" && ok "agent $a drained (every incident acknowledged)" || notok "agent $a drained: $(tail -3 $a.err)"
done
check "12000 incidents stored" "12000" "$(q 'SELECT count(*) FROM incidents')"
check "... exactly once by (agent, seq)" "12000" "$(q 'SELECT count(*) FROM (SELECT DISTINCT agent_id, agent_seq FROM incidents) d')"
check "... 3000 from each agent" "3000 3000 3000 3000" \
	"$(q "SELECT count(*) FROM incidents GROUP BY agent_id ORDER BY agent_id" | tr '\n' ' ' | sed 's/ $//')"
check "... stored by both instances" "h1 h2" "$(q "SELECT DISTINCT stored_by FROM incidents ORDER BY 1" | tr '\n' ' ' | sed 's/ $//')"
if [ -n "$BOTH" ]; then
	check "a2 failed over mid-stream: stored by both instances, each incident once" "2 3000" \
		"$(q "SELECT count(DISTINCT stored_by), count(DISTINCT agent_seq) FROM incidents WHERE agent_id = 'a2'")"
fi
grep -q "connected again; re-reading the fleet state" h1.log h2.log && ok "the instances reconnected to PostgreSQL and re-read the fleet" ||
	notok "the instances reconnected to PostgreSQL: $(tail -3 h1.log h2.log)"

# ---- immunectl on either instance sees the fleet
st=$("$IMMUNECTL" --socket h2.sock --json status)
echo "$st" | python3 -c '
import json, sys
s = json.load(sys.stdin)
a = {x["agent_id"]: x for x in s["agents"]}
assert s["store"] == "postgresql" and s["instance"] == "h2", s
for n in ("a1", "a2", "a3", "a4"):
    assert a[n]["link"] == "disconnected" and a[n]["incidents"] == 3000, a[n]
assert a["a1"]["instance"] == "h1" and a["a3"]["instance"] == "h2", a
' && ok "status on h2 lists every agent with its instance, link and incidents" || notok "status on h2: $st"
n=$("$IMMUNECTL" --socket h2.sock --json incidents --limit 100000 | python3 -c '
import json, sys; print(len([i for i in json.load(sys.stdin)["incidents"] if i.get("agent_id") == "a1"]))')
check "immunectl incidents on h2 shows what h1 stored" "3000" "$n"

# ---- fleet changes on one instance reach agents of both
hello() { printf '{"type":"hello","agent_id":"%s","hostname":"%s","version":"t","verdict_version":%s}\n' "$1" "$1" "${2:-0}"; }
watch() { # NAME PORT: a live agent on that instance, printing what it is sent
	hello "$1" | $PEER "$2" fleet-ca.pem "$1.pem" "$1.key" --read 40 >"$1.frames" 2>"$1.peer" &
	PEERS+=($!)
}
watch w1 $P1
watch w2 $P2
sleep 1
st=$("$IMMUNECTL" --socket h1.sock --json status)
echo "$st" | grep -q '"agent_id":[[:space:]]*"w2"' && echo "$st" | grep -q '"instance":[[:space:]]*"h2"' &&
	ok "status on h1 lists w2, connected to h2" || notok "status on h1 lists w2 on h2: $st"
"$IMMUNECTL" --socket h1.sock block net 10.77.0.0/16 --fleet >/dev/null && ok "a fleet block on h1" || notok "a fleet block on h1"
printf 'ip:10.77.1.1\n' >fleet.ioc
"$IMMUNECTL" --socket h2.sock ioc-push fleet-ips fleet.ioc >/dev/null && ok "an IOC set pushed on h2" || notok "an IOC set pushed on h2"
for _ in $(seq 50); do
	grep -q '10.77.0.0/16' w2.frames && grep -q '"name":"fleet-ips"' w1.frames && break
	sleep 0.1
done
grep -q '10.77.0.0/16' w2.frames && ok "the block made on h1 reached the agent on h2" || notok "the block reached w2: $(tail -2 w2.frames)"
grep -q '10.77.0.0/16' w1.frames && ok "... and the agent on h1" || notok "the block reached w1"
grep -q '"name":"fleet-ips"' w1.frames && ok "the IOC set pushed on h2 reached the agent on h1" || notok "the IOC set reached w1: $(tail -2 w1.frames)"
v1=$("$IMMUNECTL" --socket h1.sock --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict_version"])')
v2=$("$IMMUNECTL" --socket h2.sock --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict_version"])')
check "both instances are at the same verdict version" "$v1" "$v2"
"$IMMUNECTL" --socket h2.sock agent revoke w1 >/dev/null && ok "w1 revoked on h2" || notok "w1 revoked on h2"
for _ in $(seq 50); do
	grep -q '"type":"refused"' w1.frames && break
	sleep 0.1
done
grep -q '^{"type":"refused","code":"revoked","reason":"agent w1 is revoked at this Hive (immunectl agent revoke)"}$' w1.frames &&
	ok "... h1 told w1 why on its live link at once (a refused frame)" || notok "h1 told w1 why: $(tail -2 w1.frames)"
# w1 (a test peer) does not close: h1 does, 5 s after the frame
for _ in $(seq 80); do
	grep -q "closed" w1.peer && break
	sleep 0.1
done
grep -q "closed" w1.peer && ok "... and closed its link" || notok "h1 closed w1's link: $(tail -2 h1.log)"
grep -q "agent w1 revoked on another instance" h1.log && ok "... and says why" || notok "h1 says why: $(tail -2 h1.log)"
out=$( hello w1 | $PEER $P1 fleet-ca.pem w1.pem w1.key --read 2 2>&1)
grep -q "agent w1 is revoked: refused" h1.log && ok "w1 is refused at hello on h1" || notok "w1 refused on h1: $out"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
