#!/usr/bin/env bash
# attack: T1548.003 Grant sudo through a sudoers.d drop-in
. "$(dirname "$0")/lib/common.sh"
if [ ! -d /etc/sudoers.d ]; then mkdir /etc/sudoers.d && undo "rmdir /etc/sudoers.d"; fi
f=/etc/sudoers.d/immune-q$$
undo "rm -f '$f'"
echo "# immune quality scenario: grants nothing" > "$f"
chmod 440 "$f"
