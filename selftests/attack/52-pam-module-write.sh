#!/usr/bin/env bash
# attack: T1556.003 Drop a PAM module beside the system ones
. "$(dirname "$0")/lib/common.sh"
d=$(ls -d /lib/x86_64-linux-gnu/security /lib/security /usr/lib/x86_64-linux-gnu/security 2>/dev/null | head -1)
f=$d/pam_unix_backdoor$$.so
undo "rm -f '$f'"
cp /bin/true "$f"
