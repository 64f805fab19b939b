#!/usr/bin/env bash
# attack: T1574.006 Open /etc/ld.so.preload for writing (system-wide preload)
. "$(dirname "$0")/lib/common.sh"
if [ ! -e /etc/ld.so.preload ]; then undo "rm -f /etc/ld.so.preload"; fi
: >> /etc/ld.so.preload
