#!/usr/bin/env bash
# attack: T1552.004 Search the filesystem for private keys
. "$(dirname "$0")/lib/common.sh"
find /etc /root /home -maxdepth 3 -name 'id_rsa*' -o -maxdepth 3 -name '*.pem' 2>/dev/null | head -1 >/dev/null
