#!/usr/bin/env bash
# attack: T1136.001 Create a second root account (useradd -o -u 0 stand-in)
. "$(dirname "$0")/lib/common.sh"
fake useradd
"$SW/bin/useradd" -o -u 0 -g 0 -M -d /root -s /bin/bash sysupd
