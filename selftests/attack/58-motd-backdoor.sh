#!/usr/bin/env bash
# attack: T1037 A script in /etc/update-motd.d, run as root at every SSH login (written not executable: inert here)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
f=/etc/update-motd.d/99-immune-q$$
undo "rm -f '$f'"
printf '#!/bin/sh\n# immune quality scenario: would start a payload at each login\n' >"$f"
