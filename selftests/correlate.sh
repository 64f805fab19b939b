#!/bin/sh
# Correlation rules against the live kernel, with the daemon's defaults: a
# discovery burst from one shell is one incident (the built-in "Discovery
# Burst From One Process Tree"), naming the shell's launcher as its process
# tree and carrying the commands that made it; the same commands scattered
# over separate process trees raise none. Download → chmod +x → run of that file is one
# incident, the same steps in the wrong order none; a credential read then a
# connection out is one. POSIX sh.
#   selftests/correlate.sh BUILD_DIR
BUILD=${1:-build}
. "$(dirname "$0")/lib/scenario.sh" correlate
BURST=5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a001

for t in timeout whoami id uname hostname cat ps curl chmod; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "SKIPPED: the correlation selftest needs $t"
		exit 0
	fi
done

"$IMMUNED" --enforce off --pin-dir "$PIN" --socket "$SOCK" --db "$DB" \
	--format json --output "$W/incidents.json" --stats-interval 0 2>"$W/immuned.log" &
DPID=$!
i=0
while [ $i -lt 100 ] && ! ctl status >/dev/null 2>&1; do
	sleep 0.1
	i=$((i + 1))
done
if ! ctl status >/dev/null 2>&1; then
	notok "daemon starts"
	cat "$W/immuned.log"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
ok "daemon starts with its default rules"
check "status counts the built-in correlations" "3" \
	"$(ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["detection"]["correlations"])')"

# incidents of the burst rule whose process tree is PID
burst_count() {
	grep "$BURST" "$W/incidents.json" 2>/dev/null | grep -c "\"group\":\"ProcessTree=$1 "
}

# scattered: one discovery command per process tree (timeout forks and waits, so it is each one's root)
SCATTERED=
for c in "whoami" "id" "uname -a" "hostname" "cat /etc/os-release" "ps -e"; do
	timeout 10 sh -c "$c >/dev/null" &
	SCATTERED="$SCATTERED $!"
	wait $!
done

# the burst: one shell reading commands, as a reverse shell does, under its own launcher
cat >"$W/burst.sh" <<'EOS'
whoami
id
uname -a
hostname
cat /etc/os-release
ps aux
id -u
EOS
timeout 30 sh -s <"$W/burst.sh" >/dev/null 2>&1 &
TPID=$!
wait $TPID

n=0
i=0
while [ $i -lt 50 ]; do
	n=$(burst_count $TPID)
	[ "$n" -ge 1 ] && break
	sleep 0.1
	i=$((i + 1))
done
check "the discovery burst from one shell raises one incident" "1" "$n"
line=$(grep "$BURST" "$W/incidents.json" | grep "\"group\":\"ProcessTree=$TPID ")
summary=$(printf '%s\n' "$line" | python3 -c '
import json, sys
d = json.loads(sys.stdin.readline())
c = d["immune"]["correlation"]
print(d["rule"]["category"], d["rule"]["ruleset"], c["type"], c["count"], len(c["events"]),
      " ".join(sorted(e["executable"].rsplit("/", 1)[1] for e in c["events"])),
      len({e["ppid"] for e in c["events"]}), c["group"].split(" ", 1)[1])')
check "it carries the five commands that made it, from one shell, under timeout" \
	"correlation builtin value_count 5 5 cat hostname id uname whoami 1 $(command -v timeout)" "$summary"

sleep 1
for p in $SCATTERED; do
	n=$(burst_count "$p")
	check "a single command from its own tree (launcher $p) raises none" "0" "$n"
done
check "the burst raised one incident, not one per further command" "1" "$(burst_count $TPID)"

# download → chmod +x → run of the same file (curl copies the probe by a file:// URL: no network)
DROP=5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a010
CRED=5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a020
tree_count() { # RULE PID: that rule's incidents whose process tree is PID
	grep "$1" "$W/incidents.json" 2>/dev/null | grep -c "\"group\":\"ProcessTree=$2 "
}
wait_for() { # RULE PID
	i=0
	while [ $i -lt 50 ] && [ "$(tree_count "$1" "$2")" -lt 1 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	tree_count "$1" "$2"
}
mkdir "$W/dl"
SRC=$(cd "$(dirname "$PROBE")" && pwd)/$(basename "$PROBE")
timeout 20 sh -c "curl -so '$W/dl/tool' 'file://$SRC' && chmod +x '$W/dl/tool' && '$W/dl/tool' true" >/dev/null &
DPID2=$!
wait $DPID2
# the dropper's correlation is keyed on the file (payload=PATH), not on the process tree
payload_count() { # RULE PATH
	grep "$1" "$W/incidents.json" 2>/dev/null | grep -c "\"group\":\"payload=$2\""
}
i=0
while [ $i -lt 50 ] && [ "$(payload_count $DROP "$W/dl/tool")" -lt 1 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "download, chmod +x and run of that file raise one incident" "1" "$(payload_count $DROP "$W/dl/tool")"
summary=$(grep "$DROP" "$W/incidents.json" | grep "\"group\":\"payload=$W/dl/tool\"" | python3 -c '
import json, sys
c = json.loads(sys.stdin.readline())["immune"]["correlation"]
print(c["type"], " ".join(e["action"] + ":" + e["executable"].rsplit("/", 1)[1] for e in c["events"]))')
check "it lists the download and the run, in order" "temporal_ordered open:curl exec:tool" "$summary"
# the same steps in the wrong order (a file run, then downloaded over): none
timeout 20 sh -c "cp '$SRC' '$W/dl/tool3' && '$W/dl/tool3' true && curl -so '$W/dl/tool3' 'file://$SRC'" >/dev/null &
WPID=$!
wait $WPID

# a credential file read, then a connection out (UDP: connect() sends nothing), from one shell
if command -v python3 >/dev/null 2>&1; then
	timeout 20 sh -c "'$PROBE' open /etc/shadow >/dev/null && python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((\"198.51.100.7\", 9))'" &
	CPID=$!
	wait $CPID
	check "a credential file read then a connection out raise one incident" "1" "$(wait_for $CRED $CPID)"
fi
sleep 0.5
check "the dropper's steps in the wrong order raise none" "0" "$(payload_count $DROP "$W/dl/tool3")"

if command -v sqlite3 >/dev/null 2>&1; then
	i=0
	row=
	while [ $i -lt 30 ] && [ -z "$row" ]; do
		row=$(sqlite3 "$DB" "SELECT rule_title || '|' || json_array_length(doc, '\$.immune.correlation.events')
			FROM incidents WHERE rule_id = '$BURST' AND json_extract(doc, '\$.immune.correlation.group') LIKE 'ProcessTree=$TPID %'")
		[ -n "$row" ] || sleep 0.1
		i=$((i + 1))
	done
	check "the incident row in SQLite" "Discovery Burst From One Process Tree|5" "$row"
fi

if [ -x selftests/validate-json ]; then
	out=$(selftests/validate-json schema/incident.schema.json "$W/incidents.json")
	rc=$?
	case $out in
	SKIPPED*) echo "$out" ;;
	*) [ $rc -eq 0 ] && ok "incidents are valid against schema/incident.schema.json" ||
		notok "incidents are valid against schema/incident.schema.json: $out" ;;
	esac
fi

stop_daemon
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
