#!/usr/bin/env bash
# attack: T1036.005 A payload from a home directory started under sshd's name (exec -a /usr/sbin/sshd)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.cache"
cp /bin/sleep "$HOME/.cache/sd"
bash -c "exec -a /usr/sbin/sshd '$HOME/.cache/sd' 0.2"
