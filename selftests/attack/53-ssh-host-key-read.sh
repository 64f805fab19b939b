#!/usr/bin/env bash
# attack: T1552.004 Read the host's SSH private key
. "$(dirname "$0")/lib/common.sh"
for k in /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_rsa_key; do [ -r "$k" ] && cat "$k" >/dev/null; done
f=/etc/ssh/ssh_host_immuneq$$_key
if [ ! -e /etc/ssh/ssh_host_ed25519_key ]; then mkdir -p /etc/ssh; undo "rm -f '$f'"; echo k > "$f"; cat "$f" > /dev/null; fi
