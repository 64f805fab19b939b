#!/usr/bin/env bash
# attack: T1055.008 Attach to a running process with gdb and make it call a function (ptrace injection)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
sleep 10 &
timeout 20 gdb -q -p $! -batch -ex 'call (int)getpid()' -ex detach >/dev/null 2>&1
kill $! 2>/dev/null
