#!/usr/bin/env bash
# attack: T1548.001 Setuid root helper with chmod 4755
. "$(dirname "$0")/lib/common.sh"
cp /bin/true "$SW/helper"
chmod 4755 "$SW/helper"
