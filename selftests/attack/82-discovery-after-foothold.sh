#!/usr/bin/env bash
# attack: T1082 A foothold's first survey: a service's script starts a shell that runs a dozen discovery commands
# set: unseen
. "$(dirname "$0")/lib/common.sh"
cat >"$SW/svc.py" <<'PY'
import subprocess
cmds = b"whoami\nid\nuname -a\nhostname\ncat /etc/os-release\ncat /etc/passwd\nps aux\nip addr\nss -tlnp\nsudo -n -l\nlast -n 3\n"
subprocess.run(["/bin/sh"], input=cmds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
PY
python3 "$SW/svc.py"
