#!/usr/bin/env bash
# attack: T1070.006 Timestomp a dropped file to match /bin/ls (touch -r)
. "$(dirname "$0")/lib/common.sh"
cp /bin/true "$SW/implant"
touch -r /bin/ls "$SW/implant"
