#!/usr/bin/env bash
# attack: T1105 wget a payload into /dev/shm and run it
. "$(dirname "$0")/lib/common.sh"
cp /bin/true "$SW/p"
p=$(serve "$SW")
wget -q -O /dev/shm/p$$ "http://127.0.0.1:$p/p"
undo "rm -f /dev/shm/p$$"
chmod 755 /dev/shm/p$$
/dev/shm/p$$
