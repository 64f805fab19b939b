#!/usr/bin/env bash
# attack: T1560.001 Zip a user's SSH keys
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$HOME/.ssh/id_ed25519"
cd "$HOME" && zip -qr "$SW/k.zip" .ssh
