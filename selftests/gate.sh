#!/bin/sh
# The gate: blocks stop the first attempt, and land on what the rule named.
# Each scenario asserts the side effect is absent (a marker never written, no
# byte of a guarded file read). POSIX sh, like enforce.sh.
#   selftests/gate.sh BUILD_DIR [lsm|fallback]
BUILD=${1:-build}
MODE=${2:-fallback}
. "$(dirname "$0")/lib/scenario.sh" gate
# rule values compare lowercased: a lowercase directory of our own
G=/tmp/immune-gate-$$
mkdir -p "$G"
LPIDS=
trap 'stop_daemon; [ -z "$LPIDS" ] || kill $LPIDS 2>/dev/null; rm -rf "$PIN" "$W" "$G"' EXIT INT TERM

cat >"$G/first-evil" <<SH
#!/bin/sh
echo ran >"$G/marker-script"
SH
chmod +x "$G/first-evil"
cp "$PROBE" "$G/allowed-bin"
cp "$PROBE" "$G/hashbad"
printf 'gate-selftest-%s' $$ >>"$G/hashbad" # trailing bytes: still runs, a hash of its own
cp "$G/hashbad" "$G/renamed-copy"
echo "top secret $$" >"$G/guarded-secret.txt"
echo public >"$G/public.txt"
HASH=$(sha256sum "$G/hashbad" | cut -d' ' -f1)
# line 3 names a protected binary (refused at load); line 4 a destination (a
# connect verdict from load); line 5 a network wider than /16 (after match)
printf 'action: block\nsha256:%s\npath:/bin/sh\nip:127.0.0.5\ncidr:10.0.0.0/8\n' "$HASH" >"$W/iocs"

cat >"$W/rules.yml" <<YML
title: Gate test, a script by name
id: gate-script
logsource: {category: process_creation, product: linux}
immune: {action: block}
detection:
    sel:
        Image|endswith: '/first-evil'
    condition: sel
---
title: Gate test, a command line
id: gate-cmdline
logsource: {category: process_creation, product: linux}
immune: {action: block}
detection:
    sel:
        CommandLine|contains: 'gate-cmdline-marker'
    condition: sel
---
title: Gate test, a guarded file
id: gate-file
logsource: {category: file_access, product: linux}
immune: {action: block}
detection:
    sel:
        TargetFilename: '$G/guarded-secret.txt'
    condition: sel
---
title: Gate test, a protected binary
id: gate-protected
logsource: {category: process_creation, product: linux}
immune: {action: block}
detection:
    sel:
        Image: /bin/sh
    condition: sel
---
title: Gate test, a destination
id: gate-dest
logsource: {category: network_connection, product: linux}
immune: {action: block}
detection:
    sel:
        DestinationIp: 127.0.0.3
        DestinationPort: 47013
    condition: sel
---
title: Gate test, a program and a destination
id: gate-dest-prog
logsource: {category: network_connection, product: linux}
immune: {action: block}
detection:
    sel:
        Image|endswith: '/never-this-program'
        DestinationIp: 127.0.0.4
    condition: sel
YML

start_daemon() {
	"$IMMUNED" --enforce "$MODE" --pin-dir "$PIN" --socket "$SOCK" --db "$DB" --no-builtin-rules \
		--rules "${RULES:-$W/rules.yml}" --ioc "$W/iocs" --format json --output "$W/out.$1" --stats-interval 0 \
		2>"$W/immuned.$1.log" &
	DPID=$!
	i=0
	while [ $i -lt 100 ]; do
		[ -S "$SOCK" ] && ctl status >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "immuned did not start:"
	cat "$W/immuned.$1.log"
	return 1
}

# --check-rules says what each block rule gets, and refuses the protected one
cr=$("$IMMUNED" --check-rules "$W/rules.yml")
echo "$cr" | grep -q '^first-attempt .* gate-script: block stops the file' && ok "--check-rules: a script rule is first-attempt on the file" || notok "--check-rules script ($cr)"
echo "$cr" | grep -q '^first-attempt .* gate-cmdline: block stops the process' && ok "--check-rules: a command-line rule is first-attempt on the process" || notok "--check-rules cmdline"
echo "$cr" | grep -q '^first-attempt .* gate-file: block stops the file' && ok "--check-rules: a file rule is first-attempt" || notok "--check-rules file"
echo "$cr" | grep -q "^refused .* gate-protected: block would block /bin/sh" && ok "--check-rules refuses a block of /bin/sh, naming rule and file" || notok "--check-rules protected ($cr)"

echo "$cr" | grep -q '^first-attempt .* gate-dest: block stops the destination; its destinations are connect verdicts from load' && ok "--check-rules: a destination rule is first-attempt" || notok "--check-rules destination ($cr)"
echo "$cr" | grep -q '^after-match .* gate-dest-prog: block stops the process' && ok "--check-rules: a program plus destination rule is after-match" || notok "--check-rules program+destination"
cr=$("$IMMUNED" --check-rules --ioc "$W/iocs" "$W/rules.yml")
echo "$cr" | grep -q "^refused $W/iocs:3 path:/bin/sh: block would block " && ok "--check-rules refuses a path: indicator of /bin/sh, naming file and line" || notok "--check-rules path indicator ($cr)"
echo "$cr" | grep -q "^first-attempt $W/iocs:4: block stops the destination 127.0.0.5; a connect verdict from load" && ok "--check-rules: an ip: indicator is first-attempt" || notok "--check-rules ip indicator"
echo "$cr" | grep -q "^after-match  *$W/iocs:5: block stops the destination 10.0.0.0/8; wider than /16" && ok "--check-rules: a cidr wider than /16 is after-match" || notok "--check-rules wide cidr"

# listeners that say whether a connection ever reached them
for port in 3:47013 3:47014 5:47015; do
	"$PROBE" listen "127.0.0.${port%%:*}" "${port#*:}" 60 >"$W/listen.${port#*:}" &
	LPIDS="$LPIDS $!"
done
wait_listening "$W/listen.47013" "$W/listen.47014" "$W/listen.47015"

start_daemon 1 || { notok "daemon starts"; echo "$PASS passed, $FAIL failed"; exit 1; }
ok "daemon starts with the gate"
grep -q "refused $W/rules.yml gate-protected" "$W/immuned.1.log" && ok "the load refuses the protected block in one line" || notok "load refusal line"
grep -q "gate: exec hold on, open hold on" "$W/immuned.1.log" && ok "both holds run" || notok "holds ($(grep gate: "$W/immuned.1.log"))"
grep -q "^refused $W/iocs:3 path:/bin/sh: block would block " "$W/immuned.1.log" && ok "the load refuses the path: indicator of /bin/sh in one line" || notok "load refusal of the path indicator"
grep -q "$W/iocs:5: not blocking 10.0.0.0/8 before a match: wider than /16" "$W/immuned.1.log" && ok "the load says a /8 waits for a match" || notok "wide cidr line"

# destinations: the first connect is refused in the kernel; the peer never sees it
check "the first connect to a rule's destination is refused" "errno EPERM" "$("$PROBE" connect 127.0.0.3 47013)"
check "the first connect to an ip: indicator is refused" "errno EPERM" "$("$PROBE" connect 127.0.0.5 47015)"
check "another port of that address connects" "ok" "$("$PROBE" connect 127.0.0.3 47014)"
sleep 0.5
check "the refused destinations' listeners saw nothing" "0 0" "$(grep -c accepted "$W/listen.47013") $(grep -c accepted "$W/listen.47015")"
check "the allowed one's listener saw its connection" "1" "$(grep -c accepted "$W/listen.47014")"
v=$(ctl verdicts net)
echo "$v" | grep "127.0.0.3:47013" | grep -q "rule:gate-dest" && ok "the rule's destination is a verdict from the rule" || notok "rule net verdict ($v)"
echo "$v" | grep "127.0.0.5" | grep -q "ioc:iocs" && ok "the indicator's destination is a verdict from its file" || notok "ioc net verdict ($v)"
echo "$v" | grep -q "127.0.0.4\|10.0.0.0" && notok "an after-match destination was put at load ($v)" || ok "no after-match destination was put at load"

# a script by name: denied at its first exec, before it writes anything
check "a blocked script's first exec is denied" "errno EPERM" "$("$PROBE" exec "$G/first-evil")"
[ ! -e "$G/marker-script" ] && ok "the script never ran (no marker)" || notok "the script ran"
check "/bin/sh keeps working" "fine" "$(/bin/sh -c 'echo fine')"
check "so does a /bin/sh script" "exit 0" "$("$PROBE" exec /bin/sh -c true)"
v=$(ctl verdicts exec)
ino=$(stat -c %i "$G/first-evil")
echo "$v" | grep -q "/$ino " && ok "the verdict is on the script's inode" || notok "verdict on the script ($ino: $v)"
echo "$v" | grep -q "/bin/sh\|/usr/bin/dash\|/bin/dash" && notok "a shell got a verdict ($v)" || ok "no shell is in the verdict map"
check "the script stays denied" "errno EPERM" "$("$PROBE" exec "$G/first-evil")"

# an allowed script runs, judged twice (script, then interpreter) without waiting out the deadline
printf '#!/bin/sh\necho script-ok\n' >"$G/fine-script"
chmod +x "$G/fine-script"
t0=$(date +%s%N)
out=$("$G/fine-script")
t1=$(date +%s%N)
check "an allowed script runs" "script-ok" "$out"
case $t0$t1 in
*N*) ;; # busybox's date has no %N: the status check below still sees a timeout
*)
	ms=$(((t1 - t0) / 1000000))
	[ "$ms" -lt 1000 ] && ok "an allowed script is answered in ${ms} ms" || notok "an allowed script waited ${ms} ms"
	;;
esac

# a command line: that exec is denied, the shell runs afterwards. The marker
# is put together inside the outer shell, so that only the inner exec carries it.
cmdline_exec() {
	/bin/sh -c 'm=gate-cmdline; /bin/sh -c "echo $m-marker >$1/marker-cmd" 2>/dev/null && echo ran || echo denied' sh "$G"
}
check "a command-line rule denies that exec" "denied" "$(cmdline_exec)"
[ ! -e "$G/marker-cmd" ] && ok "the command never ran (no marker)" || notok "the command ran"
check "the shell still runs afterwards" "exit 0" "$("$PROBE" exec /bin/sh -c 'echo other >/dev/null')"
ctl verdicts exec | grep -q "gate-cmdline" && notok "a command-line rule filled the verdict map" || ok "a command-line rule filled no verdict map"

# argv and cwd of a held exec come from the sensor's copy at sys_enter_execve:
# the judged exec's working directory is the real one (a name with a space)
mkdir -p "$G/cwd dir"
n0=$(grep -c '"id":"gate-cmdline"' "$W/out.1")
check "a command-line rule denies an exec from another directory" "denied" "$(cd "$G/cwd dir" && cmdline_exec)"
line=$(grep '"id":"gate-cmdline"' "$W/out.1" | sed -n "$((n0 + 1))p")
case $line in
*"\"working_directory\":\"$G/cwd dir\""*) ok "the held exec's cwd is the real one ($G/cwd dir)" ;;
*) notok "held exec's cwd (${line:-no incident})" ;;
esac
case $line in
*'"args":["/bin/sh","-c","echo gate-cmdline-marker >'*) ok "its argv is the exec's own" ;;
*) notok "held exec's argv (${line:-no incident})" ;;
esac
# the copy holds 64 arguments: the rest, the marker here, is read from the caller
long_exec() {
	/bin/sh -c 'm=gate-cmdline; /bin/echo $(seq 70) $m-marker >/dev/null 2>&1 && echo ran || echo denied'
}
check "a marker after 70 arguments is denied" "denied" "$(long_exec)"
st=$(ctl --json status | tr -d ' \t\n')
case $st in *'"exec_strings_from_sensor":true'*) ok "status: argv and cwd from the sensor's copy" ;; *) notok "exec_strings_from_sensor ($st)" ;; esac
gate_n() { ctl --json status | tr -d ' \t\n' | sed -n "s/.*\"gate\":{[^}]*\"$1\":\([0-9]*\).*/\1/p"; }
# a command line past the small copy (1.5 KB) is in the large one: judged from the copy all the same
big_exec() {
	/bin/sh -c 'pad=$(printf "%02000d" 0); /bin/echo "$pad" $1-marker >/dev/null 2>&1 && echo ran || echo denied' sh "$1"
}
check "a marker after a 2000-byte argument is denied" "denied" "$(big_exec gate-cmdline)"
r0=$(gate_n exec_from_record)
i=0
while [ $i -lt 20 ]; do big_exec fine >/dev/null; i=$((i + 1)); done
r1=$(gate_n exec_from_record)
# two judged execs each (the outer shell, small; echo, large)
[ $((r1 - r0)) -ge 40 ] && ok "20 execs with a 2000-byte argument: judged from the sensor's copy ($((r1 - r0)))" ||
	notok "long command lines from the sensor's copy: $((r1 - r0)) of 40"
cp /bin/true "$G/cmd-bin" 2>/dev/null && "$G/cmd-bin" 2>/dev/null || cp "$PROBE" "$G/cmd-bin"
j0=$(gate_n allowed) r0=$(gate_n exec_from_record) c0=$(gate_n continued)
i=0
while [ $i -lt 50 ]; do "$G/cmd-bin"; i=$((i + 1)); done
j1=$(gate_n allowed) r1=$(gate_n exec_from_record) c1=$(gate_n continued)
# the counts are the host's: other processes' execs are held too
[ $((j1 - j0)) -ge 50 ] && ok "command-line rules: each of 50 execs is held and judged ($((j1 - j0)) on the host)" ||
	notok "50 execs judged $((j1 - j0)) times"
[ $((r1 - r0)) -ge 50 ] && ok "each with argv and cwd from the sensor's copy ($((r1 - r0)))" ||
	notok "from the sensor's copy: $((r1 - r0)) of 50"
if ldd "$G/cmd-bin" >/dev/null 2>&1; then
	[ $((c1 - c0)) -ge 50 ] && ok "its ELF interpreter's hold is answered as the same execve ($((c1 - c0)))" ||
		notok "interpreter holds continued: $((c1 - c0)) of 50"
fi

# a guarded file: the first open is denied, no byte read
check "the first open of a guarded file is denied" "errno EPERM" "$("$PROBE" open "$G/guarded-secret.txt")"
out=$(cat "$G/guarded-secret.txt" 2>/dev/null)
check "cat reads not a byte of it" "" "$out"
check "a file beside it opens" "fd" "$("$PROBE" open "$G/public.txt")"

# the content gate: the hash is blocked under any name, first exec included
check "a blocked-hash binary is denied at its first exec" "errno EPERM" "$("$PROBE" exec "$G/hashbad" true)"
check "a renamed copy of it is denied" "errno EPERM" "$("$PROBE" exec "$G/renamed-copy" true)"
check "another binary runs" "exit 0" "$("$PROBE" exec "$G/allowed-bin" true)"

st=$(ctl --json status | tr -d ' \t\n')
case $st in *'"exec_hold":true'*'"open_hold":true'*) ok "status shows both holds" ;; *) notok "status holds ($st)" ;; esac
case $st in *'"first_attempt":'[1-9]*) ok "status counts first-attempt blocks" ;; *) notok "status first_attempt ($st)" ;; esac
case $st in *'"timeouts":0,'*) ok "no held syscall ran out its deadline" ;; *) notok "gate timeouts ($st)" ;; esac
grep -q '"id":"gate-script"' "$W/out.1" && ok "the script's denial is an incident" || notok "script incident"
n=$(grep -c '"id":"gate-cmdline"' "$W/out.1")
check "one incident per denied command line (4), not two (hold and sensor)" "4" "$n"

# a restart keeps all of it
stop_daemon
start_daemon 2 || notok "daemon restarts"
check "after a restart the script is denied" "errno EPERM" "$("$PROBE" exec "$G/first-evil")"
check "after a restart the command line is denied" "denied" "$(cmdline_exec)"
check "after a restart the guarded file is denied" "errno EPERM" "$("$PROBE" open "$G/guarded-secret.txt")"
check "after a restart the blocked hash is denied" "errno EPERM" "$("$PROBE" exec "$G/renamed-copy" true)"
check "after a restart /bin/sh works" "fine" "$(/bin/sh -c 'echo fine')"
check "after a restart the destination is refused" "errno EPERM" "$("$PROBE" connect 127.0.0.3 47013)"
[ ! -e "$G/marker-script" ] && [ ! -e "$G/marker-cmd" ] && ok "no marker was ever written" || notok "a marker was written"

# a reload without the indicator takes its destination out of the maps
printf 'action: block\nsha256:%s\n' "$HASH" >"$W/iocs"
ctl reload >/dev/null 2>&1
check "after a reload without the ip: indicator its destination connects" "ok" "$("$PROBE" connect 127.0.0.5 47015)"
check "the rule's destination stays refused" "errno EPERM" "$("$PROBE" connect 127.0.0.3 47013)"
stop_daemon

# only the file's identity judged (an Image rule, a sha256 block): a judged
# inode and its ELF interpreter are not held again until the file is written
cat >"$W/identity.yml" <<YML
title: Gate test, identity only
id: gate-identity
logsource: {category: process_creation, product: linux}
immune: {action: block}
detection:
    sel:
        Image|endswith: '/first-evil'
    condition: sel
YML
gate_count() { ctl --json status | tr -d ' \t\n' | sed -n "s/.*\"gate\":{[^}]*\"$1\":\([0-9]*\).*/\1/p"; }
# a dynamic binary where there is one (its ELF interpreter is held in the same
# execve); busybox's true, copied under another name, is no applet (exit 127)
cp /bin/true "$G/marked-bin" 2>/dev/null && "$G/marked-bin" 2>/dev/null || cp "$PROBE" "$G/marked-bin"
RULES=$W/identity.yml start_daemon 3 || notok "daemon starts with identity rules"
check "a new binary runs (judged)" "exit 0" "$("$PROBE" exec "$G/marked-bin" true)"
check "it runs again" "exit 0" "$("$PROBE" exec "$G/marked-bin" true)"
# the counts are the host's: execs of other processes meanwhile are held too
h0=$(gate_count exec_held) c0=$(gate_count continued)
i=0
while [ $i -lt 50 ]; do "$G/marked-bin"; i=$((i + 1)); done
h1=$(gate_count exec_held) c1=$(gate_count continued)
[ $((h1 - h0)) -lt 25 ] && [ $((c1 - c0)) -lt 25 ] &&
	ok "50 more execs of it are not held, nor its interpreter ($((h1 - h0)) and $((c1 - c0)) holds on the whole host)" ||
	notok "50 execs of a judged binary held $((h1 - h0)) times, its interpreter $((c1 - c0))"
h0=$h1
m=$(gate_count ignore_marks)
[ "${m:-0}" -ge 1 ] && ok "judged inodes carry ignore marks ($m)" || notok "ignore marks ($m)"
printf 'x' >>"$G/marked-bin"
check "written, it runs" "exit 0" "$("$PROBE" exec "$G/marked-bin" true)"
h1=$(gate_count exec_held)
[ "$h1" -gt "$h0" ] && ok "written, it is held and judged again" || notok "held after a write ($h0 -> $h1)"
check "the blocked script is still denied at its first exec" "errno EPERM" "$("$PROBE" exec "$G/first-evil")"
cp "$G/hashbad" "$G/third-copy"
check "a new copy of the blocked hash is denied" "errno EPERM" "$("$PROBE" exec "$G/third-copy" true)"
stop_daemon

# argument strings the sensor's copy could not read (a forked child's string
# literals on a page it never touched): the copy keeps their pointers and the
# gate reads the strings through them (argv[0..7]), the rest through the
# pointer array (argv[8..11]). A rule on argument 2, 9 and 10 in turn denies
# that exec before the target writes its marker; a rule on none allows it.
LIT=$BUILD/tools/exec-literals
if [ ! -x "$LIT" ]; then
	echo "SKIPPED: arguments the copy could not read ($LIT is not in this build)"
else
	cat >"$G/lit-target" <<SH
#!/bin/sh
echo "\$@" >"$G/marker-lit"
SH
	chmod +x "$G/lit-target"
	lit_rule() {
		cat >"$W/lit.yml" <<YML
title: Gate test, an argument the copy could not read
id: gate-lit
logsource: {category: process_creation, product: linux}
immune: {action: block}
detection:
    sel:
        CommandLine|contains: '$1'
    condition: sel
YML
	}
	lit_rule gate-lit-arg-02
	RULES=$W/lit.yml start_daemon 4 || notok "daemon starts with a rule on an argument"
	for arg in 02 09 10; do
		lit_rule "gate-lit-arg-$arg"
		ctl reload >/dev/null 2>&1 || notok "reload with a rule on argument $arg"
		p0=$(gate_n args_from_pointers) n0=$(grep -c '"id":"gate-lit"' "$W/out.4")
		check "a rule on argument ${arg#0} the copy could not read denies the exec" "errno EPERM" "$("$LIT" "$G/lit-target")"
		[ ! -e "$G/marker-lit" ] && ok "the target never ran (no marker)" || notok "the target ran with a rule on argument $arg"
		p1=$(gate_n args_from_pointers)
		[ $((p1 - p0)) -ge 1 ] && ok "the gate read the arguments through the copy's kept pointers ($((p1 - p0)))" ||
			notok "args_from_pointers did not move ($p0 -> $p1)"
		line=$(grep '"id":"gate-lit"' "$W/out.4" | sed -n "$((n0 + 1))p")
		case $line in
		*'"args":["gate-lit-arg-00","gate-lit-arg-01","gate-lit-arg-02","gate-lit-arg-03","gate-lit-arg-04","gate-lit-arg-05","gate-lit-arg-06","gate-lit-arg-07","gate-lit-arg-08","gate-lit-arg-09","gate-lit-arg-10","gate-lit-arg-11"]'*)
			ok "its incident has all 12 arguments, in order" ;;
		*) notok "argv of the denied exec (${line:-no incident})" ;;
		esac
	done
	lit_rule gate-lit-arg-12
	ctl reload >/dev/null 2>&1 || notok "reload with a rule on no argument"
	p0=$(gate_n args_from_pointers)
	check "a rule on no argument allows the exec" "exit 0" "$("$LIT" "$G/lit-target")"
	check "which ran with all its arguments" "gate-lit-arg-01 gate-lit-arg-02 gate-lit-arg-03 gate-lit-arg-04 gate-lit-arg-05 gate-lit-arg-06 gate-lit-arg-07 gate-lit-arg-08 gate-lit-arg-09 gate-lit-arg-10 gate-lit-arg-11" "$(cat "$G/marker-lit" 2>/dev/null)"
	p1=$(gate_n args_from_pointers)
	[ $((p1 - p0)) -ge 1 ] && ok "judged through the kept pointers too ($((p1 - p0)))" || notok "allowed exec: args_from_pointers $p0 -> $p1"
	# the gate's status fields are the schema's, exactly (an independent client reads them from it)
	if python3 -c 'import jsonschema' 2>/dev/null; then
		ctl --json status >"$W/status.4.json"
		err=$(python3 - "$(dirname "$0")/../schema/socket.schema.json" "$W/status.4.json" <<'EOF'
import json, sys
from jsonschema import Draft202012Validator
s = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
s.pop("oneOf", None)
s["$ref"] = "#/$defs/replies/status"
for e in Draft202012Validator(s).iter_errors(doc):
    print(e.message)
want = set(s["$defs"]["replies"]["status"]["properties"]["gate"]["properties"])
if set(doc.get("gate", {})) != want:
    print("gate fields not in the schema: %s; in the schema, not sent: %s"
          % (sorted(set(doc.get("gate", {})) - want), sorted(want - set(doc.get("gate", {})))))
EOF
	)
		check "status with the gate on: its gate object is the schema's, field for field" "" "$err"
	else
		echo "SKIPPED: the status schema check (no python3 jsonschema)"
	fi
	stop_daemon
fi

# --gate off: the same rules act after the match, and say so
cr=$("$IMMUNED" --gate off --check-rules "$W/rules.yml")
echo "$cr" | grep -q '^after-match .* gate-cmdline' && ok "--gate off: --check-rules says after-match" || notok "--gate off check-rules ($cr)"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
