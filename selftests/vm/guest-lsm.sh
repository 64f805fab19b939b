#!/bin/sh
# Runs inside the VM (busybox, Debian's kernel with BPF-LSM active): the
# sensor selftests on this older kernel (CO-RE), then the enforcement,
# detection and gate (first attempt) scenarios in LSM mode. Prints "N passed, M failed" at the end.
PASS=0
FAIL=0
add() { # from a sub-run's output: "N passed, M failed" or cmocka's summary
	p=$(echo "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' | tail -1)
	f=$(echo "$1" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' | tail -1)
	if [ -z "$p" ]; then
		p=$(echo "$1" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$(echo "$1" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	fi
	[ -z "$p" ] && [ -z "$f" ] && f=1
	PASS=$((PASS + ${p:-0}))
	FAIL=$((FAIL + ${f:-0}))
}

mkdir -p /sys/kernel/security
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
lsms=$(cat /sys/kernel/security/lsm)
echo "immune-vm: active LSMs: $lsms"
case ",$lsms," in
*,bpf,*) PASS=$((PASS + 1)); echo "ok - bpf is in the active LSM list" ;;
*) FAIL=$((FAIL + 1)); echo "not ok - bpf is in the active LSM list" ;;
esac

for buf in ring perf; do
	out=$(IMMUNE_BUFFER=$buf IMMUNE_FLOOD=20000 /immune/selftests/sensor_test 2>&1)
	echo "$out" | grep -v '^\[ RUN\|^\[       OK'
	add "$out"
done

export IMMUNED=/immune/immuned IMMUNECTL=/immune/immunectl PROBE=/immune/tools/immune-probe
for t in enforce detect gate interest; do
	out=$(sh /immune/$t.sh /immune lsm 2>&1)
	echo "$out"
	add "$out"
done
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
