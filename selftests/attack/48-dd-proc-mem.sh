#!/usr/bin/env bash
# attack: T1055.009 Write into a process's memory through /proc/PID/mem with dd
. "$(dirname "$0")/lib/common.sh"
sleep 3 &
dd if=/dev/null of=/proc/$!/mem bs=1 count=0 seek=4096 2>/dev/null
