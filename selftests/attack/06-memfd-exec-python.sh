#!/usr/bin/env bash
# attack: T1620 Run a binary from memory: memfd_create and execve of the fd (python)
. "$(dirname "$0")/lib/common.sh"
python3 -c 'import os; fd=os.memfd_create("kdevtmpfsi"); os.write(fd, open("/bin/true","rb").read()); os.execv("/proc/self/fd/%d" % fd, ["kdevtmpfsi"])'
