# Sourced by the test runners: run a test program, show its output, and add
# what it reports (cmocka's summary lines or a "N passed, M failed" line) to
# the totals; a program that crashes or reports nothing counts as one failure.
PASSED=0 FAILED=0 SKIPPED=0
FAILED_NAMES=""

run_test() {
	local name=$1; shift
	local log rc p f s
	log=$(mktemp)
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		# an aggregate or a script: "N passed, M failed[, K skipped]"
		p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
		s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p'); s=${s:-0}
	else
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		if [ "$p" = 0 ] && [ "$f" = 0 ] && [ "$s" = 0 ] && [ "$rc" = 0 ] && grep -q '^SKIPPED' "$log"; then
			s=1
		fi
	fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	if [ "$p" = 0 ] && [ "$f" = 0 ] && [ "$s" = 0 ]; then
		echo "$name: reported no result (exit $rc)"
		f=1
	fi
	[ "$f" != 0 ] && FAILED_NAMES="$FAILED_NAMES $name"
	PASSED=$((PASSED + p)); FAILED=$((FAILED + f)); SKIPPED=$((SKIPPED + s))
	rm -f "$log"
}

summary() {
	[ -n "$FAILED_NAMES" ] && echo "failed:$FAILED_NAMES"
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" = 0 ]
}
