#!/usr/bin/env bash
# attack: T1090 A port relay into the internal network with socat (loopback to loopback here)
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
timeout 3 socat TCP-LISTEN:0,bind=127.0.0.1,fork "TCP:127.0.0.1:$p" >/dev/null 2>&1
true
