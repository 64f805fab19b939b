#!/bin/sh
# The config file and reload against the live kernel: options come from
# --config with the command line overriding, --print-config says where each
# came from, a bad file is refused with FILE:LINE; then 20 reloads (SIGHUP and
# `immunectl reload`, alternately, each with a changed rule set) under an
# exec/open flood, asserting 0 events lost, an incident for every exec and
# every open, and the BPF programs never detached; a bad rule set, IOC file
# or config line is refused with its reason and the set in force keeps working.
#   selftests/reload.sh BUILD_DIR
BUILD=${1:-build}
# dash's "." passes no arguments: the suite name must be $1 when scenario.sh reads it
set -- reload
. "$(dirname "$0")/lib/scenario.sh" reload
[ -n "$W" ] && [ -d "$W" ] || exit 1
FLOOD=${FLOOD:-$BUILD/tools/immune-flood}
EXEC_RULE=0b5e1f00-0000-4000-8000-0000000e1ec0
EXTRA_RULE=0b5e1f00-0000-4000-8000-0000000e1ec1

mkdir "$W/rules" "$W/extra"
cat >"$W/rules/flood.yml" <<EOF
title: IMMUNE selftest - every exec of the flood binary
id: $EXEC_RULE
author: IMMUNE selftests
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image|endswith: '/immune-flood-exec'
    condition: selection
level: high
EOF
extra_rule() { # N: a rule that differs at each reload
	cat >"$W/extra/extra.yml" <<EOF
title: IMMUNE selftest - reload generation $1
id: $EXTRA_RULE
logsource: {product: linux, category: process_creation}
detection:
    selection:
        CommandLine|contains: 'immune-reload-generation-$1'
    condition: selection
level: medium
EOF
}
extra_rule 0
cp "$PROBE" "$W/immune-flood-exec"
: >"$W/flood-target"
printf 'path:%s\n' "$W/flood-target" >"$W/iocs.txt"
cat >"$W/immuned.conf" <<EOF
# the reload selftest's config
enforce = off
pin-dir = $PIN
socket = $SOCK
db = $DB
rules = $W/rules
rules = $W/extra
ioc = $W/iocs.txt
format = text
stats-interval = 0
EOF

# --print-config: each value and where it came from
pc=$("$IMMUNED" --config "$W/immuned.conf" --format json --print-config)
check "--print-config: a value from the file names FILE:LINE" "rules                = $W/extra" \
	"$(printf '%s\n' "$pc" | grep "^rules .*immuned.conf:7" | sed 's/ *#.*//')"
check "--print-config: the command line overrides the file" "format               = json                           # command line" \
	"$(printf '%s\n' "$pc" | grep '^format ')"
check "--print-config: a default is shown as one" "# ring-kb            = 8192                           # default" \
	"$(printf '%s\n' "$pc" | grep 'ring-kb')"
# a bad file is refused with FILE:LINE, and nothing starts
printf 'format = json\nring-kb = 1000\n' >"$W/bad.conf"
out=$("$IMMUNED" --config "$W/bad.conf" 2>&1)
check "a bad config value is refused with FILE:LINE (exit 2)" \
	"2 immuned: $W/bad.conf:2: --ring-kb needs a power of two >= 4, not '1000'" "$? $out"
out=$("$IMMUNED" --config "$W/missing.conf" 2>&1)
check "an explicit --config that is missing is an error" \
	"2 immuned: $W/missing.conf: No such file or directory" "$? $out"

"$IMMUNED" --config "$W/immuned.conf" --format json --output "$W/incidents.json" 2>"$W/immuned.log" &
DPID=$!
i=0
while [ $i -lt 100 ] && ! ctl status >/dev/null 2>&1; do
	sleep 0.1
	i=$((i + 1))
done
if ! ctl status >/dev/null 2>&1; then
	notok "the daemon starts from its config file"
	cat "$W/immuned.log"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
ok "the daemon starts from its config file"
attached=$(ctl --json status | sed -n 's/.*"programs_attached": *\([0-9]*\).*/\1/p')
ids_before=$(ls -l /proc/$DPID/fd 2>/dev/null | grep -c 'anon_inode:bpf-link\|anon_inode:\[perf_event\]')

# the flood runs while the reloads happen
rm -f "$W/stop"
"$FLOOD" "$W/immune-flood-exec" "$W/flood-target" /dev/null 20 500 "$W/stop" >"$W/flood.out" 2>"$W/flood.err" &
FPID=$!
sleep 1
n=1
refused=0
while [ $n -le 20 ]; do
	extra_rule $n
	if [ $((n % 2)) = 0 ]; then
		ctl reload >/dev/null 2>>"$W/ctl.err" || refused=$((refused + 1))
	else
		before=$(grep -c "immuned: reloaded:" "$W/immuned.log")
		kill -HUP "$DPID"
		i=0
		while [ $i -lt 300 ] && [ "$(grep -c "immuned: reloaded:" "$W/immuned.log")" = "$before" ]; do
			sleep 0.02
			i=$((i + 1))
		done
	fi
	sleep 0.2
	n=$((n + 1))
done
kill -0 "$FPID" 2>/dev/null && flooding=yes || flooding=no
check "the flood was still running after the 20 reloads" yes "$flooding"
touch "$W/stop"
wait "$FPID"
check "the flood's calls all succeeded" 0 "$?"
check "20 reloads: 10 by SIGHUP, 10 by immunectl, none refused" "10 10 0" \
	"$(grep -c "immuned: reloaded:" "$W/immuned.log") $(grep -c "immuned: reloaded over the control socket:" "$W/immuned.log") $refused"
check "the last reload's rule is in force" 1 "$(grep -c "immune-reload-generation-20" "$W/extra/extra.yml")"
"$PROBE" exec "$W/immune-flood-exec" true immune-reload-generation-20 >/dev/null
execs=$(sed -n 's/^execs \([0-9]*\) .*/\1/p' "$W/flood.out")
opens=$(sed -n 's/.* opens \([0-9]*\) .*/\1/p' "$W/flood.out")
echo "# flood: $(cat "$W/flood.out") during 20 reloads; $(grep -o 'reloaded[^:]*: .* in [0-9]* ms' "$W/immuned.log" | sed 's/.* in //' | tr '\n' ' ')"
check "the BPF programs stayed attached" "$attached" \
	"$(ctl --json status | sed -n 's/.*"programs_attached": *\([0-9]*\).*/\1/p')"
check "the daemon holds the same BPF links" "$ids_before" \
	"$(ls -l /proc/$DPID/fd 2>/dev/null | grep -c 'anon_inode:bpf-link\|anon_inode:\[perf_event\]')"

# a bad set is refused with its reason, and the set in force keeps working
printf 'title: broken\nid: x\nlogsource:\n    category: process_creation\n  product: linux\n' >"$W/extra/broken.yml"
err=$(ctl reload 2>&1)
check "a malformed rule file: reload refused (exit 1)" 1 "$?"
case $err in *"$W/extra"*) ok "the refusal names the rules path: $err" ;; *) notok "the refusal names the rules path: $err" ;; esac
rm "$W/extra/broken.yml"
printf 'path:%s\nnonsense\n' "$W/flood-target" >"$W/iocs.txt"
err=$(ctl reload 2>&1)
check "a malformed IOC line: reload refused" "1 immunectl: 1 malformed lines in the IOC files (each named above)" "$? $err"
grep -q "$W/iocs.txt:2:" "$W/immuned.log" && ok "the log names the IOC file and line" || notok "the log names the IOC file and line"
printf 'path:%s\n' "$W/flood-target" >"$W/iocs.txt"
printf 'duration = soon\n' >>"$W/immuned.conf"
err=$(ctl reload 2>&1)
check "a bad config line: reload refused with FILE:LINE" \
	"1 immunectl: $W/immuned.conf:11: --duration needs a positive number of seconds, not 'soon'" "$? $err"
st=$(ctl --json status)
case $st in *'"last_refusal"'*"immuned.conf:11"*) ok "status shows the refusal" ;; *) notok "status shows the refusal: $st" ;; esac
sed -i '$d' "$W/immuned.conf"
sed -i "s|^socket = .*|socket = $W/other.sock|" "$W/immuned.conf"
out=$(ctl --json reload 2>&1)
case $out in *'"restart_needed"'*'"socket"'*) ok "a changed socket waits for a restart, and the reply says so" ;;
*) notok "a changed socket waits for a restart, and the reply says so: $out" ;; esac
"$PROBE" exec "$W/immune-flood-exec" true immune-reload-generation-20 >/dev/null
ctl status >/dev/null && ok "the control socket in force stays" || notok "the control socket in force stays"
st=$(ctl --json status | tr -d ' \t\n')
case $st in *'"config":{"file":"'"$W/immuned.conf"'","reloads":21,"reloads_refused":3}'*) ok "status: the file, 21 reloads, 3 refused" ;;
*) notok "status: the file, 21 reloads, 3 refused: $st" ;; esac

stop_daemon
exec_inc=$(grep -c "\"id\":\"$EXEC_RULE\"" "$W/incidents.json")
open_inc=$(grep -c '"id":"ioc:path"' "$W/incidents.json")
gen_inc=$(grep "\"id\":\"$EXTRA_RULE\"" "$W/incidents.json" | grep -c "\"executable\":\"$W/immune-flood-exec\"")
check "an incident for every exec of the flood (and 2 after)" "$((execs + 2))" "$exec_inc"
check "an incident for every open of the flood" "$opens" "$open_inc"
check "the reloaded rule matched, after the refused reloads too" 2 "$gen_inc"
check "every incident stored in SQLite" "$((execs + 2 + opens))" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM incidents WHERE rule_id IN ('$EXEC_RULE', 'ioc:path')")"
final=$(grep '"stats-final"' "$W/immuned.log")
check "0 events lost (kernel drops, perf losses, malformed)" 1 "$(printf '%s\n' "$final" | grep -c '"lost_total":0[,}]')"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
