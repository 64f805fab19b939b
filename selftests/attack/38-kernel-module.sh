#!/usr/bin/env bash
# attack: T1547.006 Load a rootkit kernel module (insmod stand-in)
. "$(dirname "$0")/lib/common.sh"
fake insmod
echo x > "$SW/diamorphine.ko"
"$SW/bin/insmod" "$SW/diamorphine.ko"
