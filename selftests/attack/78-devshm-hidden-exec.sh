#!/usr/bin/env bash
# attack: T1564.001 Run a hidden binary out of /dev/shm
# set: unseen
. "$(dirname "$0")/lib/common.sh"
f=/dev/shm/.ICE-$$
undo "rm -f '$f'"
cp /bin/true "$f"
"$f"
