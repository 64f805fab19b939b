#!/usr/bin/env bash
# attack: T1543.002 Persist with a systemd service unit
. "$(dirname "$0")/lib/common.sh"
f=/etc/systemd/system/dbus-org.immune-q$$.service
undo "rm -f '$f'"
printf '[Unit]\nDescription=x\n' > "$f"
