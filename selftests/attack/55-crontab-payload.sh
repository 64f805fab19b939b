#!/usr/bin/env bash
# attack: T1053.003 Install a crontab written to /tmp that runs a payload (crontab stand-in)
. "$(dirname "$0")/lib/common.sh"
fake crontab
f=/tmp/cron$$
undo "rm -f '$f'"
echo "* * * * * /var/tmp/.x/payload >/dev/null 2>&1" > "$f"
"$SW/bin/crontab" "$f"
