#!/usr/bin/env bash
# attack: T1070.003 Erase shell history
. "$(dirname "$0")/lib/common.sh"
mkhome
echo "ls" > "$HOME/.bash_history"
rm -f "$HOME/.bash_history"
ln -sf /dev/null "$HOME/.bash_history"
