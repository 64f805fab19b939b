#!/bin/sh
# Detection against the live kernel: a rule matches a real command and the
# incident lands in SQLite; a rule with `immune: {action: block}` on the
# binary's name denies its first exec (the gate holds the exec until the rule
# has judged it: EPERM in both modes) and puts a verdict on its inode, so
# later execs stop in the kernel too. POSIX sh, for the VM too.
#   selftests/detect.sh BUILD_DIR [lsm|fallback]
BUILD=${1:-build}
MODE=${2:-fallback}
. "$(dirname "$0")/lib/scenario.sh" detect

mkdir "$W/rules"
cat >"$W/rules/block.yml" <<'EOF'
title: IMMUNE selftest - block a named binary
id: 0b5e1f00-0000-4000-8000-00000000b10c
status: test
description: every exec of immune-selftest-blockme is denied, the first included
author: IMMUNE selftests
tags:
    - attack.execution
    - attack.t1059
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        Image|endswith: '/immune-selftest-blockme'
    condition: selection
level: high
immune:
    action: block
EOF
cat >"$W/rules/alert.yml" <<'EOF'
title: IMMUNE selftest - alert on a marker argument
id: 0b5e1f00-0000-4000-8000-0000000a1e47
status: test
author: IMMUNE selftests
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'immune-marker-7c1d'
    condition: selection
level: medium
EOF
cp "$PROBE" "$W/immune-selftest-blockme"
cp "$PROBE" "$W/other"


"$IMMUNED" --enforce "$MODE" --pin-dir "$PIN" --socket "$SOCK" --db "$DB" --rules "$W/rules" \
	--format json --output "$W/incidents.json" --stats-interval 0 2>"$W/immuned.log" &
DPID=$!
i=0
while [ $i -lt 100 ] && ! "$IMMUNECTL" --socket "$SOCK" status >/dev/null 2>&1; do
	sleep 0.1
	i=$((i + 1))
done
if ! "$IMMUNECTL" --socket "$SOCK" status >/dev/null 2>&1; then
	notok "daemon starts"
	cat "$W/immuned.log"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
ok "daemon starts with --rules"

# alert rule: the incident is printed and stored
check "a marked command runs" "exit 0" "$("$PROBE" exec "$W/other" true immune-marker-7c1d)"
i=0
while [ $i -lt 50 ] && ! grep -q "0b5e1f00-0000-4000-8000-0000000a1e47" "$W/incidents.json" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q "0b5e1f00-0000-4000-8000-0000000a1e47" "$W/incidents.json"; then ok "the incident is printed"; else notok "the incident is printed"; fi
if grep "0b5e1f00-0000-4000-8000-0000000a1e47" "$W/incidents.json" | grep -q "IMMUNE selftests"; then
	ok "the incident keeps the rule's author"
else
	notok "the incident keeps the rule's author"
fi
n=0
i=0
while [ $i -lt 30 ]; do
	# the probe that ran it carries the marker too: count the target's own
	n=$("$IMMUNECTL" --socket "$SOCK" incidents --rule 0b5e1f00-0000-4000-8000-0000000a1e47 | grep -c "$W/other")
	[ "$n" -ge 1 ] && break
	sleep 0.1
	i=$((i + 1))
done
check "immunectl incidents --rule finds it (stored in SQLite)" "1" "$n"
if command -v sqlite3 >/dev/null 2>&1; then
	row=$(sqlite3 "$DB" "SELECT rule_id || '|' || executable || '|' || verdict FROM incidents WHERE rule_id LIKE '%a1e47' AND executable LIKE '%/other'")
	check "the incident row in SQLite" "0b5e1f00-0000-4000-8000-0000000a1e47|$W/other|alerted" "$row"
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

# block rule: the first exec is denied already, and the verdict is put
check "the first exec of the rule's binary is denied" "errno EPERM" "$("$PROBE" exec "$W/immune-selftest-blockme" true)"
i=0
while [ $i -lt 50 ] && ! "$IMMUNECTL" --socket "$SOCK" verdicts | grep -q "rule:0b5e1f00-0000-4000-8000-00000000b10c"; do
	sleep 0.1
	i=$((i + 1))
done
if "$IMMUNECTL" --socket "$SOCK" verdicts | grep -q "rule:0b5e1f00-0000-4000-8000-00000000b10c"; then
	ok "the rule put a verdict with its id as source"
else
	notok "the rule put a verdict with its id as source"
fi
check "the second exec is denied" "errno EPERM" "$("$PROBE" exec "$W/immune-selftest-blockme" true)"
check "another binary still runs" "exit 0" "$("$PROBE" exec "$W/other" true)"

stop_daemon
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
