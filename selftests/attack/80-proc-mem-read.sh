#!/usr/bin/env bash
# attack: T1003.007 Read another process's memory through /proc/PID/maps and /proc/PID/mem, as credential dumpers do
# set: unseen
. "$(dirname "$0")/lib/common.sh"
sleep 10 &
cat >"$SW/dump.py" <<'PY'
import re, sys
pid = sys.argv[1]
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
        if m and "[heap]" in line:
            mem.seek(int(m.group(1), 16))
            mem.read(min(4096, int(m.group(2), 16) - int(m.group(1), 16)))
PY
python3 "$SW/dump.py" $!
kill $! 2>/dev/null
