#!/usr/bin/env bash
# attack: T1053.003 Persist with a file in /etc/cron.d
. "$(dirname "$0")/lib/common.sh"
f=/etc/cron.d/.immune-q$$
undo "rm -f '$f'"
echo "# immune quality scenario: no job" > "$f"
