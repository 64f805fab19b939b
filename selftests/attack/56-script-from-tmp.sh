#!/usr/bin/env bash
# attack: T1059.004 Stage a second-stage script in /tmp and run it with sh
. "$(dirname "$0")/lib/common.sh"
f=/tmp/art$$.sh
undo "rm -f '$f'"
printf 'echo stage2 >/dev/null\n' > "$f"
sh "$f"
