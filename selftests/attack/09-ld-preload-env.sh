#!/usr/bin/env bash
# attack: T1574.006 Hijack a child's libraries with LD_PRELOAD via env
. "$(dirname "$0")/lib/common.sh"
printf '' > "$SW/libhook.so"
env LD_PRELOAD="$SW/libhook.so" /bin/true 2>/dev/null
