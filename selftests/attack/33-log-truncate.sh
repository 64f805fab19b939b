#!/usr/bin/env bash
# attack: T1070.002 Wipe a log file under /var/log
. "$(dirname "$0")/lib/common.sh"
f=/var/log/immune-q$$.log
undo "rm -f '$f'"
echo "sshd[1]: Accepted password for root" > "$f"
truncate -s 0 "$f"
shred -u "$f"
