#!/usr/bin/env bash
# attack: T1070.004 Run a dropped tool, then shred it to leave nothing to recover
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
f=/var/tmp/.u$$
undo "rm -f '$f'"
cp /bin/true "$f" && "$f"
shred -uz "$f"
