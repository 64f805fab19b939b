#!/usr/bin/env bash
# attack: T1036.004 A process renamed to look like a kernel thread
. "$(dirname "$0")/lib/common.sh"
bash -c 'exec -a "[kworker/0:2-events]" sleep 0.2'
