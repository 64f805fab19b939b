#!/usr/bin/env bash
# Agents with several Hive instances (--hive A:P,B:P) on loopback: each agent
# has a stable primary and agents' primaries differ; one instance SIGKILLed
# mid-stream while agents keep producing incidents, then restarted; every
# incident is in the union of the instances' stores, none missing, and the
# duplicates across stores (only the batch in flight when the kill lost its
# ack) are counted and reported. A live agent (root) shows the failover, its
# fleet verdicts taken from the new instance, and its return to the primary
# after the hold-down in `immunectl status`.
#
# The store: each instance its own SQLite database (separate stores, where
# duplicates across stores are expected and only reported). stored(),
# hive_store_args() and set_is() are the only places that know it: with the
# PostgreSQL store (branch hivepg), HIVE_PG=postgresql://... gives both
# instances one store (--store URI --instance NAME; stored_by says which
# instance stored a row), and the test then requires no duplicate at all (the
# store's unique (agent, seq) key refuses them) and one fleet set. That path
# runs with a pg-temp cluster (selftests/tools/pg-temp start DIR prints the
# URI): no duplicate, none missing, and every one of the live agent's
# incidents acknowledged. (Its incidents once looked stored but not
# acknowledged there, and a minute late in its own database: the sqlite3 tool
# that the checks use had deleted the WAL the daemon still wrote to, see
# db_open; the rounds of execs below are read between rounds to catch that.)
#   selftests/hive_failover.sh BUILD_DIR
set -u
BUILD=${1:-build}
IMMUNED=$(cd "$BUILD" && pwd)/immuned
IMMUNECTL=$(cd "$BUILD" && pwd)/immunectl
SRC=$(cd "$(dirname "$0")/.." && pwd)
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $* [${SECONDS}s]"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $* [${SECONDS}s]"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1 (expected '$2', got '$3')"; fi; }
# retry a command every 0.1 s until it succeeds, at most N times
wait_until() { # N COMMAND...
	local n=$1
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
command -v openssl >/dev/null && command -v sqlite3 >/dev/null && command -v python3 >/dev/null || {
	echo "SKIPPED: needs the openssl, sqlite3 and python3 command-line tools"
	exit 0
}
if [ -n "${HIVE_PG:-}" ] && ! command -v psql >/dev/null; then
	echo "SKIPPED: HIVE_PG needs the psql command-line tool"
	exit 0
fi

W=$(mktemp -d /tmp/immune-failover.XXXXXX)
PA=$((20000 + $$ % 20000))
PB=$((PA + 1))
declare -A HPID=()
LPID=
cleanup() {
	for h in "${!HPID[@]}"; do
		[ -n "${HPID[$h]}" ] && kill "${HPID[$h]}" 2>/dev/null && wait "${HPID[$h]}" 2>/dev/null
	done
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	rm -rf /sys/fs/bpf/immune-failover-$$
	if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
cd "$W" || exit 1

# ---- certificates: one CA, one certificate for both instances, one per agent
. "$SRC/selftests/lib/hive.sh" # mkca, mkcert, gen_events
mkca fleet-ca
mkcert hive "DNS:localhost,IP:127.0.0.1,IP:::1" fleet-ca

mkca other-ca
mkcert rogue-hive "DNS:localhost,IP:127.0.0.1" other-ca

# The order docs/hive-protocol.md gives, computed here from its words alone:
# FNV-1a 64 over AGENT NUL NAME, the splitmix64 finalizer, highest first.
rendezvous() { # AGENT NAME...
	python3 - "$@" <<'EOF'
import sys
M = (1 << 64) - 1
def weight(agent, name):
    h = 0xcbf29ce484222325
    for b in agent.encode() + b"\0" + name.encode():
        h = ((h ^ b) * 0x100000001b3) & M
    h ^= h >> 30; h = (h * 0xbf58476d1ce4e5b9) & M
    h ^= h >> 27; h = (h * 0x94d049bb133111eb) & M
    return h ^ (h >> 31)
agent, names = sys.argv[1], sys.argv[2:]
print(" ".join(sorted(names, key=lambda n: (-weight(agent, n), names.index(n)))))
EOF
}

# six agents, three whose primary is a and three b by that hash (the ports,
# and so the instances' names, change from run to run)
AGENTS= na=0 nb=0
for k in $(seq 200); do
	case $(rendezvous "f$k" "localhost:$PA" "localhost:$PB" | cut -d' ' -f1) in
	"localhost:$PA") [ $na -lt 3 ] && AGENTS="$AGENTS f$k" && na=$((na + 1)) ;;
	*) [ $nb -lt 3 ] && AGENTS="$AGENTS f$k" && nb=$((nb + 1)) ;;
	esac
	[ $na = 3 ] && [ $nb = 3 ] && break
done
AGENTS=${AGENTS# }
for a in $AGENTS live; do mkcert "$a" "DNS:$a" fleet-ca; done
[ -s live.pem ] && ok "test certificates made (agents $AGENTS)" || notok "test certificates made"

# ---- recorded events that raise incidents: exec from /tmp (a built-in rule)
gen_events ev200.json 200 10000
gen_events ev4000.json 4000 20000

# ---- the instances and their stores
hive_store_args() { # NAME
	if [ -n "${HIVE_PG:-}" ]; then echo "--store $HIVE_PG --instance $1"; else echo "--db hive-$1.db"; fi
}
# "AGENT|SEQ" for every incident instance NAME stored
stored() { # NAME
	if [ -n "${HIVE_PG:-}" ]; then
		psql -At -F '|' "$HIVE_PG" -c "SELECT agent_id, agent_seq FROM incidents WHERE stored_by = '$1'"
	else
		sqlite3 "hive-$1.db" "SELECT agent_id || '|' || agent_seq FROM incidents"
	fi
}
count_at() { # NAME AGENT
	if [ -n "${HIVE_PG:-}" ]; then stored "$1" | grep -c "^$2|"; else
		sqlite3 "hive-$1.db" "SELECT count(*) FROM incidents WHERE agent_id = '$2'"
	fi
}
start_hive() { # NAME ADDR:PORT [OPTION...] (later options win)
	local name=$1 at=$2
	shift 2
	# shellcheck disable=SC2046
	"$IMMUNED" --role hive --listen "$at" --ca fleet-ca.pem --cert hive.pem --key hive.key \
		$(hive_store_args "$name") --socket "hive-$name.sock" --max-per-address 1000 "$@" 2>>"hive-$name.log" &
	HPID[$name]=$!
	wait_until 50 "$IMMUNECTL" --socket "hive-$name.sock" status >/dev/null 2>&1
}
kill9_hive() { # NAME
	kill -9 "${HPID[$1]}" && wait "${HPID[$1]}" 2>/dev/null
	HPID[$1]=
}
LIST="localhost:$PA,localhost:$PB"
# every agent at once; false if one of them failed
agents() { # EVENTS DRAIN
	local a pids=() rc=0
	for a in $AGENTS; do
		agent "$a" "$1" "$2" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
agent() { # NAME EVENTS DRAIN
	"$IMMUNED" --replay "$2" --db "$1.db" --agent-id "$1" --hive "$LIST" --hive-ca fleet-ca.pem \
		--hive-cert "$1.pem" --hive-key "$1.key" --hive-drain-seconds "$3" --format json >>"$1.out" 2>>"$1.err"
}

# ---- bad lists are refused with the entry named, before anything starts
for bad in "localhost:$PA,,localhost:$PB|entry 2 is empty" "localhost:$PA,::1:$PB|entry 2 '::1:$PB' is not HOST:PORT" \
	"localhost:$PA,localhost:$PA|entry 2 'localhost:$PA' repeats entry 1" "localhost:70000|entry 1 'localhost:70000'"; do
	out=$("$IMMUNED" --replay ev200.json --db bad.db --hive "${bad%%|*}" --hive-ca fleet-ca.pem --hive-cert live.pem \
		--hive-key live.key 2>&1)
	rc=$?
	[ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -qF -- "--hive: ${bad#*|}" &&
		ok "--hive ${bad%%|*} is refused: $out" || notok "--hive ${bad%%|*} is refused (rc $rc): $out"
done
out=$("$IMMUNED" --hive-hold-down -1 --print-config 2>&1)
echo "$out" | grep -q "^immuned: --hive-hold-down needs seconds from 0 to 3600, not '-1'" && ok "a bad hold-down is refused: $out" ||
	notok "a bad hold-down is refused: $out"
printf 'hive = localhost:%s, [::1]:%s\nhive-ca = fleet-ca.pem\nhive-cert = live.pem\nhive-key = live.key\n' "$PA" "$PB" >good.conf
"$IMMUNED" --config good.conf --print-config 2>&1 | grep -q "^hive  *= localhost:$PA, \[::1\]:$PB  *# good.conf:1" &&
	ok "the config file takes a list with an IPv6 entry" || notok "the config file takes a list: $("$IMMUNED" --config good.conf --print-config 2>&1 | grep hive)"
printf 'hive = localhost:%s,[::1]\n' "$PA" >bad.conf
out=$("$IMMUNED" --config bad.conf --print-config 2>&1)
echo "$out" | grep -q "bad.conf:1: --hive: entry 2 '\[::1\]' is not HOST:PORT" && ok "a bad list in the config file names FILE:LINE: $out" ||
	notok "a bad list in the config file names FILE:LINE: $out"

# b on IPv6 and IPv4 both: the live agent reaches it as [::1]
start_hive a "127.0.0.1:$PA" && start_hive b "[::]:$PB" && ok "two Hive instances start" || notok "two Hive instances start"

# ---- both up: each agent's incidents all go to its primary, and primaries differ
agents ev200.json 20 && ok "six agents drained with both instances up" || notok "six agents drained: $(tail -n 2 ./*.err)"
declare -A PRIMARY=()
on_a=0 on_b=0
for a in $AGENTS; do
	ca=$(count_at a "$a") cb=$(count_at b "$a")
	if [ "$ca" = 200 ] && [ "$cb" = 0 ]; then
		PRIMARY[$a]=a on_a=$((on_a + 1))
	elif [ "$ca" = 0 ] && [ "$cb" = 200 ]; then
		PRIMARY[$a]=b on_b=$((on_b + 1))
	else
		notok "agent $a sent to one instance only (a: $ca, b: $cb)"
	fi
done
[ "$on_a" -gt 0 ] && [ "$on_b" -gt 0 ] && ok "agents' primaries differ ($on_a on a, $on_b on b)" ||
	notok "agents' primaries differ ($on_a on a, $on_b on b)"
doc=0
for a in $AGENTS; do
	first=$(rendezvous "$a" "localhost:$PA" "localhost:$PB" | cut -d' ' -f1)
	[ "$first" = "localhost:$([ "${PRIMARY[$a]}" = a ] && echo "$PA" || echo "$PB")" ] && doc=$((doc + 1))
done
check "every agent's primary is the one the documented hash gives" "6" "$doc"
# the same agent picks the same instance whatever the list's order
F1=${AGENTS%% *}
LIST="localhost:$PB,localhost:$PA" agent "$F1" ev200.json 20
check "the primary is the same with the list reversed" "400" "$(count_at "${PRIMARY[$F1]}" "$F1")"

# ---- an instance that refuses the TLS handshake (a certificate of another CA): failover
PC=$((PB + 2))
start_hive c "127.0.0.1:$PC" --cert rogue-hive.pem --key rogue-hive.key && ok "a third instance starts with a foreign certificate" ||
	notok "a third instance starts with a foreign certificate"
x=
for a in $AGENTS; do
	[ "$(rendezvous "$a" "localhost:$PC" "localhost:$PB" | cut -d' ' -f1)" = "localhost:$PC" ] && x=$a && break
done
if [ -n "$x" ]; then
	LIST="localhost:$PC,localhost:$PB" agent "$x" ev200.json 20 && ok "agent $x, whose primary refuses the handshake, drains to b" ||
		notok "agent $x drains to b: $(tail -n 3 "$x.err")"
	grep -q "hive localhost:$PC: down: certificate refused: " "$x.err" &&
		grep -q "failed over from localhost:$PC to localhost:$PB" "$x.err" &&
		ok "... saying why ($(grep -o "certificate refused: .*" "$x.err" | head -n 1)), and that it failed over" || notok "... saying why: $(grep hive "$x.err")"
else
	echo "# no agent of $AGENTS has localhost:$PC first: the refused-handshake failover is not run"
fi
kill "${HPID[c]}" && wait "${HPID[c]}" 2>/dev/null
HPID[c]=

# ---- instance a SIGKILLed mid-stream while agents keep producing, then restarted
before_a=$(stored a | wc -l)
agents ev4000.json 60 &
BG=$!
for _ in $(seq 200); do
	[ "$(stored a | wc -l)" -gt "$before_a" ] && break
	sleep 0.02
done
kill9_hive a
mid=$(($(stored a | wc -l) - before_a))
[ "$mid" -gt 0 ] && [ "$mid" -lt $((on_a * 4000)) ] && ok "instance a killed mid-stream ($mid of $((on_a * 4000)) incidents in)" ||
	notok "instance a killed mid-stream ($mid of $((on_a * 4000)) in)"
# more incidents while a is down: they go to b
agents ev200.json 60 && wait $BG && ok "every agent drained with instance a down" || notok "every agent drained with a down: $(grep -h 'not acknowledged' ./*.err)"
for a in $AGENTS; do
	[ "${PRIMARY[$a]}" = a ] && { grep -q "failed over from localhost:$PA to localhost:$PB" "$a.err" &&
		ok "agent $a failed over from a to b" || notok "agent $a failed over: $(tail -n 3 "$a.err")"; }
done
start_hive a "127.0.0.1:$PA" && ok "instance a restarts on its store" || notok "instance a restarts"
# and after: a new run goes to the primary again
agents ev200.json 20 && ok "every agent drained after a came back" || notok "every agent drained after a came back"
for a in $AGENTS; do
	[ "${PRIMARY[$a]}" = a ] && { grep -q "failed over" <(tail -n 5 "$a.err") &&
		notok "agent $a back on a: $(tail -n 3 "$a.err")" || ok "agent $a reports to its primary a again"; }
done

# ---- nothing lost: every incident of every agent is in the union of the stores
{ stored a; stored b; } | sort >union.all
sort -u union.all >union
missing=0 dups=0 total=0
for a in $AGENTS; do
	sqlite3 "$a.db" "SELECT '$a|' || id FROM incidents" | sort >"$a.seqs"
	n=$(wc -l <"$a.seqs") total=$((total + n))
	check "agent $a: every incident acknowledged" "0" "$(sqlite3 "$a.db" 'SELECT count(*) FROM incidents WHERE hive_acked != 1')"
	m=$(comm -23 "$a.seqs" union | wc -l)
	d=$(grep "^$a|" union.all | uniq -d | wc -l)
	missing=$((missing + m)) dups=$((dups + d))
	echo "# agent $a (primary ${PRIMARY[$a]}): $n incidents, $m missing, $d stored by both instances"
	if [ -n "${HIVE_PG:-}" ] || [ "${PRIMARY[$a]}" = b ]; then
		check "agent $a: no duplicate" "0" "$d"
	else
		# at most the batch whose ack the kill lost (500 incidents)
		[ "$d" -le 500 ] && ok "agent $a: duplicates across stores only from the batch in flight ($d)" ||
			notok "agent $a: $d duplicates across stores (more than one batch)"
	fi
done
check "no incident missing from the union of the instances' stores ($total incidents)" "0" "$missing"
echo "# duplicates across the two stores: $dups of $total incidents (the batch in flight at the kill; a shared store refuses them)"
check "within one store, each (agent, seq) once" "" "$(for h in a b; do stored "$h" | sort | uniq -d; done)"

# ---- a live agent: status, verdicts of the instance in use, return to the primary
if [ "$(id -u)" = 0 ]; then
	"$IMMUNECTL" --socket hive-a.sock block net 10.9.8.71 --fleet >/dev/null
	"$IMMUNECTL" --socket hive-b.sock block net 10.9.8.72 --fleet >/dev/null
	PIN=/sys/fs/bpf/immune-failover-$$
	"$IMMUNED" --pin-dir "$PIN" --socket live.sock --db live.db --agent-id live --hive "localhost:$PA,[::1]:$PB" \
		--hive-ca fleet-ca.pem --hive-cert live.pem --hive-key live.key --hive-hold-down 3 --gate off \
		--metrics "127.0.0.1:$((PB + 1))" --stats-interval 0 >live.out 2>live.err &
	LPID=$!
	st() { "$IMMUNECTL" --socket live.sock --json status 2>/dev/null; }
	# real incidents on the live agent: an exec from /tmp (a built-in rule), N times
	nfire=0
	# each in the database within seconds, read by the sqlite3 tool between
	# rounds: its connection closing once deleted the WAL the daemon wrote to
	# (db_open had dropped the daemon's locks), and later incidents stayed
	# invisible outside the daemon for a minute or for good
	copies() { sqlite3 live.db "SELECT count(*) FROM incidents WHERE executable = '$1'"; }
	have() { [ "$(copies "$1")" = "$2" ]; }
	fire() { # N WHEN: a new copy each time
		nfire=$((nfire + 1))
		local exe="$W/fo-true-$nfire" t0
		cp /bin/true "$exe"
		t0=$(date +%s%N)
		for _ in $(seq "$1"); do "$exe" 2>/dev/null; done
		wait_until 50 have "$exe" "$1" &&
			ok "$2: the $1 execs from /tmp are in the live agent's database within 5 s ($((($(date +%s%N) - t0) / 1000000)) ms)" ||
			notok "$2: the $1 execs from /tmp in the live agent's database within 5 s ($(copies "$exe") there)"
	}
	field() { python3 -c "import json,sys; h=json.load(sys.stdin)['hive']; print(eval(sys.argv[1]))" "$1"; }
	on() { [ "$(st | field 'h["current"]' 2>/dev/null)" = "$1" ]; }
	has() { "$IMMUNECTL" --socket live.sock verdicts net | grep -q "$1"; }
	linked() { [ "$(st | field 'h["link"]' 2>/dev/null)" = connected ]; }
	wait_until 100 linked
	s=$(st)
	primary=$(echo "$s" | field 'h["instances"][0]["address"]')
	other=$(echo "$s" | field 'h["instances"][1]["address"]')
	check "the live agent is on its primary" "$primary" "$(echo "$s" | field 'h["current"]')"
	check "status lists both instances, the primary first" "2 connected standby" \
		"$(echo "$s" | field 'len(h["instances"]), h["instances"][0]["link"], h["instances"][1]["link"]' | tr -d "(),'")"
	# the instance names: localhost:PA is a, [::1]:PB is b
	P=b O=a
	[ "$primary" = "localhost:$PA" ] && P=a O=b
	vp=10.9.8.71 vo=10.9.8.72
	[ $P = b ] && vp=10.9.8.72 vo=10.9.8.71
	# the fleet set in force is the instance's own (separate stores; one store: one set, both verdicts)
	set_is() { # IN OUT WHAT
		local v
		wait_until 50 has "$1"
		v=$("$IMMUNECTL" --socket live.sock verdicts net)
		if [ -n "${HIVE_PG:-}" ]; then
			echo "$v" | grep -q "$1.*hive" && echo "$v" | grep -q "$2.*hive" && ok "$3 (one store: one set)" || notok "$3: $v"
		else
			echo "$v" | grep -q "$1.*hive" && ! echo "$v" | grep -q "$2" && ok "$3 ($1 in force, $2 not)" || notok "$3: $v"
		fi
	}
	set_is "$vp" "$vo" "the live agent has its primary's fleet set"
	fire 5 "on the primary"
	t0=$(date +%s%N)
	kill9_hive $P
	fire 5 "the primary killed"
	wait_until 100 on "$other"
	echo "# failover: on the other instance $((($(date +%s%N) - t0) / 1000000)) ms after the kill (polled every 0.1 s)"
	s=$(st)
	check "after the primary's kill the live agent is on the other instance" "$other" "$(echo "$s" | field 'h["current"]')"
	check "... one failover counted" "1" "$(echo "$s" | field 'h["failovers"]')"
	met=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" \
		"http://127.0.0.1:$((PB + 1))/metrics" 2>&1)
	echo "$met" | grep -q '^immune_hive_failovers_total 1$' &&
		echo "$met" | grep -qF "immune_hive_instance_up{instance=\"$other\",rank=\"1\"} 1" &&
		echo "$met" | grep -qF "immune_hive_instance_up{instance=\"$primary\",rank=\"0\"} 0" &&
		echo "$met" | grep -F "immune_hive_instance_failures_total{instance=\"$primary\"} " | grep -qv ' 0$' &&
		ok "the metrics count the failover and show the instance up" ||
		notok "the metrics count the failover: $(echo "$met" | grep immune_hive_)"
	echo "$s" >status.json
	out=$(python3 - "$SRC/schema/socket.schema.json" status.json <<'EOF'
import json, sys
try:
    import jsonschema
except ImportError:
    print("SKIPPED: no python3-jsonschema")
    sys.exit(0)
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator({"$ref": "#/$defs/replies/status", "$defs": schema["$defs"]})
errs = [e.message for e in v.iter_errors(json.load(open(sys.argv[2])))]
print("; ".join(errs) if errs else "valid")
EOF
)
	case $out in
	valid) ok "the agent's status during a failover is valid against schema/socket.schema.json" ;;
	SKIPPED*) echo "$out" ;;
	*) notok "the agent's status against the schema: $out" ;;
	esac
	echo "$s" | field 'h["instances"][0]["link"] == "backing off" and h["instances"][0]["next_attempt_ms"] >= 0 and len(h["instances"][0]["last_error"]) > 0' |
		grep -q True && ok "... the primary backing off, with its next attempt and last error" ||
		notok "... the primary backing off: $(echo "$s" | field 'h["instances"][0]')"
	set_is "$vo" "$vp" "the agent took the other instance's fleet set whole"
	"$IMMUNECTL" --socket live.sock status | grep -qF -- "- address: $other, link: connected" && ok "immunectl status shows the instance in use" ||
		notok "immunectl status shows the instance in use: $("$IMMUNECTL" --socket live.sock status | grep -A5 -i hive)"
	fire 5 "on the other instance"
	start_hive $P "$([ $P = a ] && echo "127.0.0.1:$PA" || echo "[::]:$PB")" || notok "the primary restarts"
	# hold-down 3 s, then the primary's next attempt (its backoff is a few seconds by now)
	t0=$(date +%s%N)
	wait_until 300 on "$primary"
	echo "# return: back on the primary $((($(date +%s%N) - t0) / 1000000)) ms after its restart (hold-down 3 s, polled every 0.1 s)"
	s=$(st)
	check "the live agent is back on its primary after the hold-down" "$primary" "$(echo "$s" | field 'h["current"]')"
	check "... one return counted, no new failover" "1 1" "$(echo "$s" | field 'h["returns"], h["failovers"]' | tr -d '(),')"
	set_is "$vp" "$vo" "... with its primary's fleet set again"
	grep -qF "back on $primary (preferred to $other)" live.err && ok "the agent says it is back on its primary" ||
		notok "the agent says it is back: $(grep hive live.err | tail -n 3)"
	fire 5 "back on the primary"
	# what the live agent recorded through the failover and the restart (the
	# 20 execs above, and whatever the host did), all delivered; it goes on
	# recording, so up to a bound (an ack lost to a cut link is waited out: 30 s)
	ours() { sqlite3 live.db "SELECT count(*) FROM incidents WHERE executable LIKE '$W/fo-true-%'"; }
	ours=$(ours)
	upto=$(sqlite3 live.db 'SELECT coalesce(max(id), 0) FROM incidents')
	check "the live agent recorded the 20 execs from /tmp" 20 "$ours"
	unacked() { sqlite3 live.db "SELECT count(*) FROM incidents WHERE id <= $upto AND hive_acked = 0"; }
	t0=$(date +%s%N)
	wait_until 400 eval '[ "$(unacked)" = 0 ]'
	echo "# all acknowledged $((($(date +%s%N) - t0) / 1000000)) ms later"
	check "every incident the live agent recorded through it is acknowledged ($upto)" "0" "$(unacked)"
	sqlite3 live.db "SELECT 'live|' || id FROM incidents WHERE id <= $upto" | sort >live.seqs
	{ stored a; stored b; } | sort -u >union
	check "... and each is in the union of the instances' stores" "0" "$(comm -23 live.seqs union | wc -l)"
	kill "$LPID" && wait "$LPID" 2>/dev/null
	LPID=
else
	echo "SKIPPED: the live agent part needs root (pinned maps, BPF)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
