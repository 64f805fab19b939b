#!/usr/bin/env bash
# attack: T1564.001 A hidden file in /dev/shm
. "$(dirname "$0")/lib/common.sh"
f=/dev/shm/.x$$
undo "rm -f '$f'"
head -c 4096 /dev/urandom > "$f"
