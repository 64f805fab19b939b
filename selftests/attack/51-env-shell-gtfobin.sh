#!/usr/bin/env bash
# attack: T1059.004 Spawn a shell through env (GTFOBins)
. "$(dirname "$0")/lib/common.sh"
env /bin/sh -c true
