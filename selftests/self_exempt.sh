#!/usr/bin/env bash
# Nothing local cuts the agent off from its Hive or its own files:
#  - `immunectl block` of the Hive's address (or a net holding it), of
#    immuned, immunectl, the config, the database or the certificates is
#    refused with its reason;
#  - verdict_self keys the exemption on pid and start time: an entry with the
#    right pid but another start time exempts nothing, and after a crash a
#    process given the daemon's pid is denied (connect) and killed (exec);
#  - a deny that got into the pinned maps anyway (written here with bpftool)
#    does not stop the daemon: it reconnects to its Hive through a
#    verdict on the Hive's address and port and delivers incidents, and opens
#    its database under a file verdict on it, while any other process is
#    denied both; the exemption follows the daemon across a restart;
#  - a blocking indicator of the Hive's address is refused at load and at
#    each match (the incident alerts only), logged once, counted;
#  - blocking path: indicators of the daemon's database, or of a file beside
#    it, are refused at load (the open hold's marks would hand the daemon
#    descriptors of its database, whose close drops its SQLite locks);
#  - a live agent revoked at the Hive is told why on its link (a `refused`
#    frame) and shows the reason in `status` without trying a hello.
#   selftests/self_exempt.sh BUILD_DIR        (root; fallback enforcement)
set -u
BUILD=${1:-build}
MODE=fallback
. "$(dirname "$0")/lib/scenario.sh" self_exempt
. "$(dirname "$0")/lib/hive.sh" # mkca, mkcert, hive_answers
IMMUNED=$(cd "$(dirname "$IMMUNED")" && pwd)/$(basename "$IMMUNED")
IMMUNECTL=$(cd "$(dirname "$IMMUNECTL")" && pwd)/$(basename "$IMMUNECTL")
PROBE=$(cd "$(dirname "$PROBE")" && pwd)/$(basename "$PROBE")
for t in openssl sqlite3 bpftool python3; do
	command -v $t >/dev/null || { echo "SKIPPED: needs $t"; exit 0; }
done
PORT=$((20000 + $$ % 20000))
HPID=
cleanup_all() {
	stop_daemon
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	rm -rf "$PIN"
	if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup_all EXIT INT TERM
cd "$W" || exit 1

mkca ca
# line 2: the Hive's address; 3 and 4: the daemon's database and a file beside it (the open hold
# would hand immuned descriptors of its database: refused at load)
printf 'action: block\n127.0.0.1\npath:%s\npath:%s\n' "$DB" "$W/beside-db" >hive.ioc
mkcert hive "IP:127.0.0.1" ca
mkcert live "DNS:live" ca

start_hive() {
	"$IMMUNED" --role hive --listen 127.0.0.1:$PORT --ca ca.pem --cert hive.pem --key hive.key \
		--db hive.db --socket hive.sock 2>>hive.log &
	HPID=$!
	hive_answers hive.sock
}
start_agent() { # RUN; $WRAP: a command to start it under (unshare ...)
	${WRAP:-} "$IMMUNED" --enforce fallback --pin-dir "$PIN" --socket "$SOCK" --db "$DB" --stats-interval 0 --format json \
		--output "agent.$1.out" --hive 127.0.0.1:$PORT --hive-ca ca.pem --hive-cert live.pem --hive-key live.key \
		--agent-id live --ioc "$W/hive.ioc" 2>"agent.$1.log" &
	DPID=$!
	for _ in $(seq 100); do
		ctl status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
link_up() { # wait until the agent's link is connected
	for _ in $(seq 150); do
		ctl --json status 2>/dev/null | tr -d ' \t\n' | grep -q '"link":"connected"' && return 0
		sleep 0.1
	done
	return 1
}
stored() { sqlite3 hive.db "SELECT count(*) FROM incidents WHERE agent_id = 'live'" 2>/dev/null || echo 0; }
incident() { # one exec from /tmp: a built-in rule's incident
	cp /bin/true "$W/x-$1" && "$W/x-$1"
}
delivered() { # N: wait until the Hive holds more than N of the agent's incidents
	for _ in $(seq 150); do
		[ "$(stored)" -gt "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
self_value() { # verdict_self's entry as hex bytes: tgid, pad, start_ticks, ns_per_tick (struct imm_self)
	bpftool -j map lookup pinned "$PIN/verdict_self" key 0 0 0 0 2>/dev/null |
		python3 -c 'import json,sys; print(" ".join("%02x" % int(b, 16) for b in json.load(sys.stdin)["value"]))'; }
self_field() { # N: the Nth field of the entry (0 tgid, 2 start_ticks, 3 ns_per_tick)
	self_value | python3 -c 'import sys,struct; print(struct.unpack("<IIQQ", bytes(int(b,16) for b in sys.stdin.read().split()))[int(sys.argv[1])])' "$1"; }
self_tgid() { self_field 0; }
start_ticks() { awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat"; } # field 22 after comm
self_set() { # TGID START_TICKS: write verdict_self as the daemon keys it
	bpftool map update pinned "$PIN/verdict_self" key 0 0 0 0 value hex $(python3 -c \
		'import sys,os,struct; print(" ".join("%02x"%b for b in struct.pack("<IIQQ",int(sys.argv[1]),0,int(sys.argv[2]),10**9//os.sysconf("SC_CLK_TCK"))))' "$1" "$2"); }
# hex of a verdict value: deny, any port, source "bpftool"
deny_value() { python3 -c 'import sys,struct; print(" ".join("%02x"%b for b in struct.pack("<IHHQQ48s",1,0,0,0,0,b"bpftool")))'; }

start_hive && ok "the Hive starts" || notok "the Hive starts: $(tail -3 hive.log)"
# an older daemon's verdict_self (a bare 4-byte tgid) pinned where this one pins its maps
mkdir -p "$PIN" && bpftool map create "$PIN/verdict_self" type array key 4 value 4 entries 1 name verdict_self ||
	notok "bpftool pins an old-shape verdict_self"
start_agent 1 && ok "the agent starts in fallback mode" || notok "the agent starts: $(tail -5 agent.1.log)"
grep -qF "immuned: $PIN/verdict_self: a 4-byte entry of an older daemon, unpinned" agent.1.log &&
	ok "... over an older daemon's verdict_self, unpinned in one line" || notok "old verdict_self: $(grep verdict_self agent.1.log)"
link_up && ok "the agent's link to the Hive is up" || notok "the agent's link is up: $(tail -3 agent.1.log)"
check "verdict_self holds the daemon's pid" "$DPID" "$(self_tgid)"
check "... and its start time (/proc/PID/stat's, in clock ticks)" "$(start_ticks "$DPID")" "$(self_field 2)"

# ---- the operator's own blocks that would cut the agent off are refused, with the reason
refused() { # DESCRIPTION EXPECTED-TEXT ARGS...
	local d=$1 want=$2 out rc
	shift 2
	out=$(ctl "$@" 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -qF "$want"; then ok "$d"; else notok "$d (exit $rc: $out)"; fi
}
refused "block net of the Hive's address is refused" \
	"refused: net 127.0.0.1 covers this agent's link to the Hive" block net 127.0.0.1
refused "block net of the Hive's address and port is refused" \
	"refused: net 127.0.0.1:$PORT covers this agent's link to the Hive" block net "127.0.0.1:$PORT"
refused "block net of a network holding the Hive is refused" \
	"refused: net 127.0.0.0/8 covers this agent's link to the Hive" block net 127.0.0.0/8
refused "block exec of immuned is refused" "refused: $IMMUNED is protected" block exec "$IMMUNED"
refused "block file of immunectl is refused" "refused: $IMMUNECTL is protected" block file "$IMMUNECTL"
refused "block file of the database is refused" "is protected (immuned's database $DB)" block file "$DB"
refused "block file of the agent's key is refused" "is protected (the agent's key $W/live.key)" block file "$W/live.key"
refused "block file of the Hive CA is refused" "is protected (the Hive CA $W/ca.pem)" block file "$W/ca.pem"
grep -q "block net 127.0.0.0/8 by uid 0 (pid [0-9]*) refused: net 127.0.0.0/8 covers" agent.1.log &&
	ok "a refused block is logged with who asked" || notok "a refused block is logged: $(grep refused agent.1.log | head -3)"
ctl block net 127.0.0.2 >/dev/null && ok "a block beside the Hive's address is taken" || notok "block net 127.0.0.2"
ctl unblock net 127.0.0.2 >/dev/null
check "nothing refused reached the maps" "0" "$(ctl --json verdicts | grep -c '"target"')"

# ---- blocking indicators the open hold would turn against the daemon's own database: refused at load
grep -qF "refused $W/hive.ioc:3 path:$DB: block would hold opens of $DB, immuned's database $DB: no block covers immuned's own files; kept as an alert" agent.1.log &&
	ok "a path: indicator of the daemon's database is refused at load, naming FILE:LINE" ||
	notok "db indicator refused at load: $(grep "hive.ioc:3" agent.1.log | head -2)"
grep -qF "refused $W/hive.ioc:4 path:$W/beside-db: block would hold opens in $W, the folder of immuned's database" agent.1.log &&
	ok "... and one beside it (its folder's mark would hold the database's opens too)" ||
	notok "beside-db indicator refused at load: $(grep "hive.ioc:4" agent.1.log | head -2)"
# a rule's TargetFilename compares lowercased: a database in a lowercase folder for the rule's case
own=/tmp/immune-own-$$
cat >own.yml <<YML
title: a block of the database's WAL
id: own-wal
logsource: {category: file_access, product: linux}
immune: {action: block}
detection:
    sel:
        TargetFilename: '$own/immune.db-wal'
    condition: sel
YML
cr=$("$IMMUNED" --check-rules --db "$DB" --ioc "$W/hive.ioc" own.yml 2>&1)
echo "$cr" | grep -qF "refused $W/hive.ioc:3 path:$DB: block would hold opens of $DB, immuned's database $DB" &&
	echo "$cr" | grep -qF "refused $W/hive.ioc:4 path:$W/beside-db: block would hold opens in $W, the folder of" &&
	ok "--check-rules --db shows both indicator refusals" || notok "--check-rules --db: $cr"
cr=$("$IMMUNED" --check-rules --db "$own/immune.db" own.yml 2>&1)
echo "$cr" | grep -qF "refused own.yml own-wal: block would hold opens of $own/immune.db-wal, immuned's database $own/immune.db-wal: no block covers immuned's own files; kept as an alert" &&
	ok "--check-rules refuses a file rule on the database's WAL, naming FILE ID" || notok "--check-rules own-wal: $cr"

# ---- a blocking indicator of the Hive's address: refused at load, and at each match alerts only
grep -qF "immuned: $W/hive.ioc:2: not blocking 127.0.0.1 before a match: it covers this agent's link to the Hive; a match on it alerts only" agent.1.log &&
	ok "an indicator blocking the Hive's address is refused at load, naming FILE:LINE" ||
	notok "indicator refused at load: $(grep hive.ioc agent.1.log | head -3)"
check "a connect to the Hive's address matching it goes through" "ok" "$("$PROBE" connect 127.0.0.1 $PORT)"
check "... and a second one" "ok" "$("$PROBE" connect 127.0.0.1 $PORT)"
# the probe's two incidents (on a shared machine other processes may connect to 127.0.0.1 too)
probe_refusals() {
	python3 - "$PROBE" agent.1.out <<'PY'
import json, sys
n = 0
for line in open(sys.argv[2]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    im = j.get("immune", {})
    n += (j.get("process", {}).get("executable") == sys.argv[1] and im.get("verdict") == "alerted" and
          im.get("verdict_error") == "block refused: net 127.0.0.1 covers this agent's link to the Hive")
print(n)
PY
}
for _ in $(seq 50); do
	[ "$(probe_refusals)" -ge 2 ] && break
	sleep 0.1
done
check "both matches are incidents that say why they only alert" "2" "$(probe_refusals)"
check "the refusal is logged once, naming FILE:LINE" "1" \
	"$(grep -cF "immuned: $W/hive.ioc:2: not blocking 127.0.0.1: net 127.0.0.1 covers this agent's link to the Hive; alerts only (logged once)" agent.1.log)"
check "each refusal is counted in detection.protected_refusals (at least the probe's 2)" "True" \
	"$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["detection"]["protected_refusals"] >= 2)')"
check "the link to the Hive is still up" "0" "$(link_up; echo $?)"

# ---- a deny that got into the pinned maps anyway: the Hive's address and port, the database
before=$(stored)
incident 1
delivered "$before" && ok "an incident reaches the Hive" || notok "an incident reaches the Hive: $(tail -3 agent.1.log)"
bpftool map update pinned "$PIN/verdict_net" \
	key hex 00 00 00 00 00 00 00 00 00 00 ff ff 7f 00 00 01 $(printf '%02x %02x' $((PORT & 255)) $((PORT >> 8))) 00 00 \
	value hex $(deny_value) && ok "bpftool put a deny of 127.0.0.1:$PORT in verdict_net" ||
	notok "bpftool put a deny in verdict_net"
read -r maj min ino < <(stat -c '%Hd %Ld %i' "$DB")
kdev=$(((maj << 20) | min))
le64() { python3 -c "import sys,struct; print(' '.join('%02x'%b for b in struct.pack('<Q',int(sys.argv[1]))))" "$1"; }
bpftool map update pinned "$PIN/verdict_file" key hex $(le64 $kdev) $(le64 "$ino") value hex $(deny_value) &&
	ok "bpftool put a deny of the database's inode in verdict_file" || notok "bpftool put a deny in verdict_file"
check "another process's connect to the Hive is denied" "errno EPERM" "$("$PROBE" connect 127.0.0.1 $PORT)"
# the sensor may be skipping the lookup (verdict_file was empty): the deny holds within 2 s
read -r r1 r2 ms < <(open_denied_within "$DB")
check "another process's open of the database is killed" "signal 9" "$r1 $r2"
[ "${ms:-9999}" -le 2000 ] && ok "... within 2 s of the bpftool write ($ms ms)" || notok "... within 2 s (took ${ms:-?} ms)"
# the Hive restarts: the agent must connect again through the verdict on its address
kill "$HPID" && wait "$HPID" 2>/dev/null
HPID=
start_hive || notok "the Hive restarts"
link_up && ok "the agent connects to its Hive again through a deny on its address" ||
	notok "the agent connects again: $(tail -5 agent.1.log)"
before=$(stored)
incident 2
delivered "$before" && ok "... and its incidents are still delivered" || notok "incidents delivered: $(tail -3 agent.1.log)"
ctl --json status | tr -d ' \t\n' | grep -q '"dead_letters":0' &&
	ok "the daemon still reads its database (status counts from a new read-only open)" ||
	notok "the daemon reads its database: $(ctl --json status 2>&1 | head -c 300)"
kill -0 "$DPID" 2>/dev/null && ok "the daemon was not killed" || notok "the daemon was killed"

# ---- the exemption is keyed on pid and start time: a pid reused after a crash gains nothing.
# A waiting shell execs the probe (same pid, same start time); verdict_self names it for one connect.
saved=$(self_value)
exempt_probe() { # START-TICKS-OFFSET: the probe's connect to the Hive under the deny, verdict_self naming its pid
	rm -f go probe.pid && mkfifo go
	sh -c 'echo $$ >probe.pid; read x <go; exec "$0" connect 127.0.0.1 "$1"' "$PROBE" "$PORT" >probe.out 2>&1 &
	local sp=$! pp=
	for _ in $(seq 50); do [ -s probe.pid ] && break; sleep 0.05; done
	pp=$(cat probe.pid)
	self_set "$pp" $(($(start_ticks "$pp") + $1)) >/dev/null
	echo >go
	wait $sp
	bpftool map update pinned "$PIN/verdict_self" key 0 0 0 0 value hex $saved
	cat probe.out
}
check "verdict_self naming a process's pid and start time exempts it (its connect passes the deny)" "ok" "$(exempt_probe 0)"
check "the right pid with another start time exempts nothing (a reused pid)" "errno EPERM" "$(exempt_probe 1)"
check "the daemon's entry is back" "$DPID $(start_ticks "$DPID")" "$(self_tgid) $(self_field 2)"

# ---- the exemption follows the daemon: cleared at its stop, the next one's at its start
stop_daemon
check "verdict_self is cleared when the daemon stops" "0" "$(self_tgid)"
check "with no daemon, a connect to the Hive is still denied" "errno EPERM" "$("$PROBE" connect 127.0.0.1 $PORT)"
start_agent 2 && ok "the agent starts again" || notok "the agent starts again: $(tail -5 agent.2.log)"
check "verdict_self holds the new daemon's pid" "$DPID" "$(self_tgid)"
link_up && ok "the restarted agent reaches its Hive through the deny" || notok "restarted agent link: $(tail -5 agent.2.log)"
before=$(stored)
incident 3
delivered "$before" && ok "... and delivers" || notok "the restarted agent delivers: $(tail -3 agent.2.log)"
check "another process is still denied" "errno EPERM" "$("$PROBE" connect 127.0.0.1 $PORT)"

# ---- a live agent revoked: told why on its live link, shown in status, no hello tried in vain
"$IMMUNECTL" --socket hive.sock agent revoke live >/dev/null
for _ in $(seq 100); do
	ctl --json status | grep -q '"last_error":.*refused by the Hive' && break
	sleep 0.1
done
want="refused by the Hive: revoked: agent live is revoked at this Hive (immunectl agent revoke)"
check "status shows the Hive's refusal as last_error" "$want" \
	"$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["hive"].get("last_error"))')"
sleep 3
check "the agent logged it once, naming the Hive" "1" "$(grep -c "immuned: hive 127.0.0.1:$PORT: down: $want" agent.2.log)"
check "... learned it on its live link: no hello refused within 3 s" "0" "$(grep -c "agent live is revoked: refused" hive.log)"

# ---- a crash: verdict_self and the pinned fallback sensor still name the dead daemon's pid; a
# process given that pid (ns_last_pid) is not the daemon: its connect is denied, its denied exec killed
cp /bin/true "$W/denied-true"
read -r maj min ino < <(stat -c '%Hd %Ld %i' "$W/denied-true")
bpftool map update pinned "$PIN/verdict_exec" key hex $(le64 $(((maj << 20) | min))) $(le64 "$ino") \
	value hex $(deny_value) || notok "bpftool put a deny of denied-true in verdict_exec"
dead=$DPID
kill -9 "$DPID" && wait "$DPID" 2>/dev/null
DPID=
check "a crash leaves verdict_self naming the dead daemon" "$dead" "$(self_tgid)"
as_dead() { # CMD...: run CMD as a process given the dead daemon's pid; prints its output and "rc=N"
	local p rc
	for _ in $(seq 30); do
		echo $((dead - 1)) >/proc/sys/kernel/ns_last_pid
		"$@" >reuse.out 2>&1 &
		p=$!
		wait $p
		rc=$?
		[ "$p" = "$dead" ] && { cat reuse.out; echo "rc=$rc"; return 0; }
	done
	return 1
}
reuse_check() { # DESCRIPTION EXPECTED CMD...
	local d=$1 want=$2 got
	shift 2
	if got=$(as_dead "$@"); then
		check "$d" "$want" "$(echo "$got" | tr '\n' ' ' | sed 's/ $//')"
	else
		echo "SKIPPED: $d: the pid $dead was not given again in 30 forks (another process holds it)"
	fi
}
if [ -w /proc/sys/kernel/ns_last_pid ]; then
	reuse_check "a process given the dead daemon's pid is denied a connect to the Hive" "errno EPERM rc=1" \
		"$PROBE" connect 127.0.0.1 $PORT
	reuse_check "... and killed at the exec of a denied binary (the pinned sensor does not take it for the daemon)" \
		"rc=137" "$W/denied-true"
else
	echo "SKIPPED: the pid-reuse checks need /proc/sys/kernel/ns_last_pid"
fi
# ---- a daemon in a time namespace: its /proc adds the namespace's boottime offset to start
# times, the kernel's start_boottime (what BPF compares) has none; the entry must be the kernel's
if unshare --time --boottime 100000 true 2>/dev/null; then
	WRAP="unshare --time --boottime 100000 --fork" start_agent 3 && ok "an agent starts in a time namespace (boottime +100000 s)" ||
		notok "an agent starts in a time namespace: $(tail -5 agent.3.log)"
	upid=$DPID
	DPID=$(pgrep -P "$upid" -x immuned)
	inside=$(nsenter --target "$DPID" --time awk '{ sub(/.*\) /, ""); print $20 }' /proc/self/stat 2>/dev/null)
	[ -n "$inside" ] && [ "$inside" -gt "$(start_ticks $$)" ] &&
		ok "... where /proc's start times are 100000 s later" || notok "... where /proc's start times are later: '$inside'"
	check "its verdict_self entry is its pid and the kernel's start time (as the init namespace's /proc says)" \
		"$DPID $(start_ticks "$DPID")" "$(self_tgid) $(self_field 2)"
	check "... so another process is still denied" "errno EPERM" "$("$PROBE" connect 127.0.0.1 $PORT)"
	kill "$DPID" && wait "$upid" 2>/dev/null
	DPID=
else
	echo "SKIPPED: the time-namespace check needs unshare --time (util-linux 2.36, Linux 5.6)"
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
