#!/usr/bin/env bash
# attack: T1059.006 Upgrade a shell with python's pty.spawn
. "$(dirname "$0")/lib/common.sh"
timeout 5 python3 -c 'import pty; pty.spawn("/bin/true")'
