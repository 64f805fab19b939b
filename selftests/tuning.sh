#!/bin/sh
# Tuning against the live kernel: the default rules catch a real command; an
# `immunectl suppress` silences exactly the matches it names, at once, is
# counted per rule in status, survives a restart, and `unsuppress` lifts it;
# rules below --min-level become signals (stored, queryable, never printed);
# the override file's exceptions and --disable-rule apply. POSIX sh.
#   selftests/tuning.sh BUILD_DIR
BUILD=${1:-build}
. "$(dirname "$0")/lib/scenario.sh" tuning

STOMP=6f1e0a01-3c2d-4b8e-9a01-000000000020
start() { # extra daemon options
	"$IMMUNED" --enforce off --pin-dir "$PIN" --socket "$SOCK" --db "$DB" --format json --output "$W/out.json" \
		--stats-interval 0 "$@" 2>>"$W/immuned.log" &
	DPID=$!
	i=0
	while [ $i -lt 100 ] && ! ctl status >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
}
# wait until the output has N lines naming the marker (or 3 s), print the count
seen() {
	i=0
	while [ $i -lt 30 ]; do
		n=$(grep -c "$1" "$W/out.json" 2>/dev/null)
		[ "${n:-0}" -ge "$2" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	grep -c "$1" "$W/out.json" 2>/dev/null
}
stomp() { touch -r /bin/ls "$W/$1"; }

start
if ! ctl status >/dev/null 2>&1; then
	notok "daemon starts with the defaults"
	cat "$W/immuned.log"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
ok "daemon starts with the defaults"
check "the shipped SigmaHQ rules are loaded" "yes" "$(grep -q 'rules loaded' "$W/immuned.log" && ctl status | grep -q rules_signal && echo yes)"
stomp mark-a1
check "a timestomp raises an incident" "1" "$(seen mark-a1 1)"
grep mark-a1 "$W/out.json" | grep -q '"author":"IMMUNE"' && ok "the incident names the rule's author" || notok "the incident names the rule's author"

id=$(ctl suppress "$STOMP" --cmdline-contains mark-b --for 1h | sed -n 's/^suppression \([0-9]*\) in force.*/\1/p')
[ -n "$id" ] && ok "immunectl suppress answers an id" || notok "immunectl suppress answers an id"
stomp mark-b1
stomp mark-c1
check "another match of the rule still alerts" "1" "$(seen mark-c1 1)"
check "the suppressed match is silent" "0" "$(grep -c mark-b1 "$W/out.json")"
check "status counts it for the rule" "1" "$(ctl --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['detection']['policy']['by_rule']['$STOMP']['suppressed'])")"
check "suppressions lists it with its count" "1" "$(ctl suppressions | awk -v id="$id" '$1 == id {print $3}')"
ctl suppress no-such-rule >/dev/null 2>&1
check "an unknown rule is refused" "1" "$?"

stop_daemon
start
stomp mark-b2
stomp mark-c2
seen mark-c2 1 >/dev/null
check "the suppression survives a restart" "0" "$(grep -c mark-b2 "$W/out.json")"
ctl unsuppress "$id" >/dev/null
check "unsuppress succeeds" "0" "$?"
stomp mark-b3
check "after unsuppress the match alerts again" "1" "$(seen mark-b3 1)"
stop_daemon

cat >"$W/overrides.yml" <<'YML'
exceptions:
    - rule: 6f1e0a01-3c2d-4b8e-9a01-000000000020
      name: release script
      fields: [CommandLine|contains]
      values: [mark-d]
    - rule: not-a-rule
      fields: [Image]
      values: [/x]
YML
start --min-level high --overrides "$W/overrides.yml"
grep -q "overrides.yml:6: exception for rule not-a-rule, which is not loaded, skipped" "$W/immuned.log" &&
	ok "a bad exception is reported with its file and line" || notok "a bad exception is reported with its file and line"
stomp mark-e1
sleep 0.5
check "below --min-level: no incident printed" "0" "$(grep -c mark-e1 "$W/out.json")"
n=0
i=0
while [ $i -lt 30 ]; do
	n=$(ctl --json incidents --signals --rule "$STOMP" | grep -c mark-e1)
	[ "$n" -ge 1 ] && break
	sleep 0.1
	i=$((i + 1))
done
check "but a signal, queryable" "1" "$n"
stop_daemon
start --overrides "$W/overrides.yml"
stomp mark-d1
stomp mark-f1
seen mark-f1 1 >/dev/null
check "an override-file exception silences its matches" "0" "$(grep -c mark-d1 "$W/out.json")"
stop_daemon
start --disable-rule "$STOMP" --disable-rule rules-threat-hunting
stomp mark-g1
sleep 0.5
check "--disable-rule leaves the rule out" "0" "$(grep -c mark-g1 "$W/out.json")"
stop_daemon
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
