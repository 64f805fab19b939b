#!/usr/bin/env bash
# attack: T1059.004 Spawn a shell through find -exec (GTFOBins)
. "$(dirname "$0")/lib/common.sh"
find . -exec /bin/sh -c true \; -quit
