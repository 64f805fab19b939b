#!/usr/bin/env bash
# attack: T1552.003 Read another user's shell history for secrets
. "$(dirname "$0")/lib/common.sh"
mkhome
echo "mysql -uroot -pS3cret" > "$HOME/.bash_history"
cat "$HOME/.bash_history" > /dev/null
