#!/usr/bin/env bash
# attack: T1564 Hide a process by bind-mounting an empty directory over /proc/PID (in a private mount namespace)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
sleep 5 &
mkdir "$SW/empty"
unshare -m sh -c "mount --make-rprivate / && mount --bind '$SW/empty' /proc/$! && ls /proc/$! >/dev/null"
kill $! 2>/dev/null
