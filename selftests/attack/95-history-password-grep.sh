#!/usr/bin/env bash
# attack: T1552.003 Grep users' shell histories for passwords
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
mkhome
printf 'mysql -u root -pS3cret\nls\n' >"$HOME/.bash_history"
grep -iE 'pass|-p[^ ]' /home/*/.bash_history /root/.bash_history >/dev/null 2>&1
true
