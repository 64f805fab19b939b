#!/usr/bin/env bash
# attack: T1552.004 Steal a user's SSH private key
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$HOME/.ssh/id_ed25519"
cat "$HOME/.ssh/id_ed25519" > "$SW/loot"
