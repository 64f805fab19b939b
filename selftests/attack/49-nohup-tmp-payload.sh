#!/usr/bin/env bash
# attack: T1204.002 Start a payload in the background from /var/tmp with nohup
. "$(dirname "$0")/lib/common.sh"
cp /bin/true /var/tmp/.dbus$$
undo "rm -f /var/tmp/.dbus$$"
nohup /var/tmp/.dbus$$ >/dev/null 2>&1
