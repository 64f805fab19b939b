#!/bin/sh
# The open interest filter against the live kernel, in the default mode (no
# --events): opens no rule can use are counted and not sent; the opens rules
# need still raise their incidents, also in directories made after the daemon
# started and for a file replaced by rename (a new inode); --events open sends
# every open again. POSIX sh, for the VM too.
#   selftests/interest.sh BUILD_DIR [lsm|fallback]
BUILD=${1:-build}
MODE=${2:-fallback}
. "$(dirname "$0")/lib/scenario.sh" interest

mkdir "$W/rules" "$W/spool" "$W/data" "$W/home"
rule() { # ID CATEGORY FIELD-LINE
	cat >"$W/rules/$1.yml" <<EOF
title: IMMUNE selftest - interest $1
id: 0b5e1f00-0000-4000-8000-0000000$1
status: test
author: IMMUNE selftests
logsource:
    product: linux
    category: $2
detection:
    selection:
        $3
    condition: selection
level: medium
EOF
}
rule 1c001 file_event "TargetFilename|startswith: '$W/spool/cron/'"
rule 1c002 file_access "TargetFilename: '$W/data/secret.txt'"
rule 1c003 file_event "TargetFilename|contains: '/.immune-sel/'"
mkdir "$W/keep"
rule 1c004 file_access "TargetFilename: '$W/keep/linked.txt'"
rule 1c005 file_access "TargetFilename: '$W/keep/moved.txt'"

"$IMMUNED" --enforce "$MODE" --pin-dir "$PIN" --socket "$SOCK" --db "$DB" --rules "$W/rules" \
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
ok "daemon starts in the default mode"
grep -q "^interest: read opens: keys" "$W/immuned.log" && ok "the log gives the read class its keys" ||
	notok "the log gives the read class its keys: $(grep '^interest' "$W/immuned.log")"

filtered() { ctl --json status | sed -n 's/.*"open_filtered":[[:space:]]*\([0-9]*\).*/\1/p'; }
before=$(filtered)
i=0
while [ $i -lt 2000 ]; do
	: </dev/null
	i=$((i + 1))
done
after=$(filtered)
if [ -n "$before" ] && [ -n "$after" ] && [ $((after - before)) -ge 2000 ]; then
	ok "2000 reads of /dev/null are filtered in the kernel ($before -> $after)"
else
	notok "2000 reads of /dev/null are filtered in the kernel ('$before' -> '$after')"
fi
ctl --json status | grep -q '"filtered"' && ok "status counts filtered events per kind" ||
	notok "status counts filtered events per kind"

# The kernel remembers each file's decision; what names the file differently
# must be decided again. A hard link: the same inode, another name.
echo x >"$W/data/plain.txt"
cat "$W/data/plain.txt" "$W/data/plain.txt" >/dev/null
ln "$W/data/plain.txt" "$W/keep/linked.txt"
cat "$W/keep/linked.txt" >/dev/null
# A rename: the same dentry and inode, another parent and name.
echo x >"$W/data/before.txt"
cat "$W/data/before.txt" "$W/data/before.txt" >/dev/null
mv "$W/data/before.txt" "$W/keep/moved.txt"
cat "$W/keep/moved.txt" >/dev/null
# A rule loaded later for a file already decided: the keys' generation changed.
echo x >"$W/data/late.txt"
cat "$W/data/late.txt" "$W/data/late.txt" >/dev/null
rule 1c006 file_access "TargetFilename: '$W/data/late.txt'"
kill -HUP $DPID
i=0
while [ $i -lt 100 ] && ! grep -q "reloaded" "$W/immuned.log"; do
	sleep 0.1
	i=$((i + 1))
done
cat "$W/data/late.txt" >/dev/null

# made after the daemon resolved its keys: covered by the ancestor's key and by name
mkdir "$W/spool/cron"
echo "* * * * * true" >"$W/spool/cron/root"
mkdir -p "$W/home/newuser/.immune-sel"
echo x >"$W/home/newuser/.immune-sel/conf"
# replaced by rename: a new inode, the same name
echo one >"$W/data/secret.tmp"
mv "$W/data/secret.tmp" "$W/data/secret.txt"
cat "$W/data/secret.txt" >/dev/null
# the built-in rules: a shell startup file written
echo "alias x=y" >>"$W/home/.bashrc"

incident() { # ID
	i=0
	while [ $i -lt 50 ] && ! grep -q "$1" "$W/incidents.json" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$1" "$W/incidents.json" 2>/dev/null
}
incident 0b5e1f00-0000-4000-8000-00000001c001 && ok "a write in a directory made after start is sent (its parent's key)" ||
	notok "a write in a directory made after start is sent (its parent's key)"
incident 0b5e1f00-0000-4000-8000-00000001c003 && ok "a write under a new directory of a named directory is sent (name key)" ||
	notok "a write under a new directory of a named directory is sent (name key)"
incident 0b5e1f00-0000-4000-8000-00000001c002 && ok "a file replaced by rename is still sent (name key)" ||
	notok "a file replaced by rename is still sent (name key)"
incident 0b5e1f00-0000-4000-8000-00000001c004 && ok "a hard link to a file decided before is decided again (its name)" ||
	notok "a hard link to a file decided before is decided again (its name)"
incident 0b5e1f00-0000-4000-8000-00000001c005 && ok "a file decided before and renamed is decided again" ||
	notok "a file decided before and renamed is decided again"
incident 0b5e1f00-0000-4000-8000-00000001c006 && ok "a rule loaded after a file was decided sees its next open" ||
	notok "a rule loaded after a file was decided sees its next open"
n=$(grep -c "0b5e1f00-0000-4000-8000-00000001c006" "$W/incidents.json")
check "only the open after the reload is an incident" "1" "$n"
incident 6f1e0a01-3c2d-4b8e-9a01-000000000013 && ok "the built-in shell startup rule still fires" ||
	notok "the built-in shell startup rule still fires"
n=$(grep -c "0b5e1f00-0000-4000-8000-00000001c002" "$W/incidents.json")
check "the renamed file's read is one incident" "1" "$n"
stop_daemon

# --events open: every open is sent, none filtered
"$IMMUNED" --enforce "$MODE" --pin-dir "$PIN" --socket "$SOCK" --db "$DB" --events open \
	--format json --output /dev/null --stats-interval 0 2>"$W/immuned2.log" &
DPID=$!
i=0
while [ $i -lt 100 ] && ! ctl status >/dev/null 2>&1; do
	sleep 0.1
	i=$((i + 1))
done
i=0
while [ $i -lt 200 ]; do
	: </dev/null
	i=$((i + 1))
done
st=$(ctl --json status)
case $st in
*'"interest"'*) notok "--events open has no interest filter" ;;
*) ok "--events open has no interest filter" ;;
esac
f=$(echo "$st" | tr -d ' \t\n' | sed -n 's/.*"open":{[^}]*"filtered":\([0-9]*\).*/\1/p')
check "--events open filters no open" "0" "$f"
stop_daemon
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
