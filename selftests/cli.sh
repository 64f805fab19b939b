#!/bin/sh
# immuned's command line: clear one-line errors for bad options and a missing
# privilege, --duration, --output, --events in both formats, and the stats
# record at exit. Usage: selftests/cli.sh BUILD_DIR
set -u
BUILD=${1:-build}
IMMUNED=$BUILD/immuned
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
W=$(mktemp -d /tmp/immune-cli.XXXXXX)
trap 'rm -rf "$W" /sys/fs/bpf/immune-cli-$$' EXIT

expect_fail() { # DESCRIPTION PATTERN ARGS...
	d=$1 pat=$2
	shift 2
	out=$("$IMMUNED" "$@" 2>&1)
	rc=$?
	lines=$(printf '%s\n' "$out" | wc -l)
	if [ $rc -ne 0 ] && [ "$lines" = 1 ] && printf '%s' "$out" | grep -q -- "$pat"; then
		ok "$d"
	else
		notok "$d (rc=$rc, $lines lines: $out)"
	fi
}

"$IMMUNED" --help | grep -q -- "--events LIST" && ok "--help lists the options" || notok "--help lists the options"
"$IMMUNED" --version | grep -q "^immuned " && ok "--version" || notok "--version"
expect_fail "--format xml is refused in one line" "format must be text or json" --format xml
expect_fail "--events bogus is refused in one line" "unknown event 'bogus'" --events exec,bogus
expect_fail "--buffer bogus is refused in one line" "buffer must be ring or perf" --buffer bogus
expect_fail "--duration -1 is refused in one line" "positive number" --duration -1
expect_fail "--enforce bogus is refused in one line" "enforce must be" --enforce bogus
expect_fail "a stray argument is refused in one line" "unexpected argument" stray
expect_fail "--check-rules without a path is refused" "needs at least one" --check-rules
expect_fail "--replay of a missing file says so" "missing" --replay "$W/missing.json"

if [ "$(id -u)" != 0 ]; then
	echo "SKIPPED: the live part of the CLI test needs root"
	echo "$PASS passed, $FAIL failed, 1 skipped"
	[ "$FAIL" = 0 ]
	exit $?
fi

if setpriv --help 2>&1 | grep -q -- --reuid; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$IMMUNED" --duration 1 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q "not root: immuned needs CAP_BPF and CAP_PERFMON"; then
		ok "an unprivileged start says what it needs"
	else
		notok "an unprivileged start says what it needs (rc=$rc: $out)"
	fi
fi

args="--pin-dir /sys/fs/bpf/immune-cli-$$ --socket $W/s.sock --db $W/db --enforce off --no-builtin-rules"
start=$(date +%s)
# shellcheck disable=SC2086
"$IMMUNED" $args --events exec,open --format json --output "$W/ev.json" --duration 2 2>"$W/log" &
pid=$!
sleep 1
cat /etc/hostname >/dev/null
wait $pid
rc=$?
took=$(($(date +%s) - start))
[ $rc -eq 0 ] && [ $took -ge 2 ] && [ $took -le 6 ] && ok "--duration 2 stops by itself (exit 0, ${took}s)" ||
	notok "--duration 2 stops by itself (rc=$rc, ${took}s)"
grep -q '"action":"exec".*"executable":"[^"]*/cat"' "$W/ev.json" && ok "--output gets the JSON exec event" ||
	notok "--output gets the JSON exec event"
grep -q '"path":"/etc/hostname"' "$W/ev.json" && ok "and the open of /etc/hostname" || notok "and the open of /etc/hostname"
tail -1 "$W/ev.json" | grep -q '"action":"stats-final".*"lost_total":0' && ok "the last line is the stats record, nothing lost" ||
	notok "the last line is the stats record, nothing lost: $(tail -1 "$W/ev.json")"
out=$(selftests/validate-json schema/event.schema.json "$W/ev.json")
rc=$?
case $out in
SKIPPED*) echo "$out" ;;
*) [ $rc -eq 0 ] && ok "every line is valid against schema/event.schema.json ($(echo "$out" | tail -1))" ||
	notok "every line is valid against schema/event.schema.json: $out" ;;
esac
grep -q "mounted\|programs attached" "$W/log" && ok "the log says what was attached" || notok "the log says what was attached"
# umask 077 and the one SQLite opener: what the daemon creates is root's alone
modes="$(stat -c %a "$W/db" "$W/ev.json" 2>&1 | tr '\n' ' ')"
[ "$modes" = "600 600 " ] && ok "the database and --output are mode 0600" ||
	notok "the database and --output are mode 0600 (got: $modes)"
args2="--pin-dir /sys/fs/bpf/immune-cli-$$ --socket $W/run/immune/s.sock --db $W/lib/immune/db --enforce off --no-builtin-rules"
# shellcheck disable=SC2086
"$IMMUNED" $args2 --duration 1 2>"$W/log3"
modes="$(stat -c %a "$W/lib/immune" "$W/lib/immune/db" "$W/run/immune" 2>&1 | tr '\n' ' ')"
[ "$modes" = "700 600 755 " ] && ok "a new database directory is 0700, the socket's 0755" ||
	notok "a new database directory is 0700, the socket's 0755 (got: $modes; $(tail -1 "$W/log3"))"

# shellcheck disable=SC2086
"$IMMUNED" $args --events connect --buffer perf --duration 1 >"$W/ev.txt" 2>"$W/log2"
grep -q "perf buffer" "$W/log2" && ok "--buffer perf is used and said" || notok "--buffer perf is used and said"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
