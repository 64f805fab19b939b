#!/usr/bin/env bash
# attack: T1053.003 Install a user crontab that runs a payload from /tmp (crontab stand-in)
. "$(dirname "$0")/lib/common.sh"
fake crontab
echo "* * * * * /tmp/.x/payload >/dev/null 2>&1" > "$SW/cron.txt"
"$SW/bin/crontab" "$SW/cron.txt"
"$SW/bin/crontab" -l
echo "* * * * * /tmp/.x/payload" | "$SW/bin/crontab" -u root /dev/stdin
