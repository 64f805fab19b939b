#!/usr/bin/env bash
# attack: T1543.002 Persist as a user's systemd unit (~/.config/systemd/user), enabled by a wants link
# set: unseen
. "$(dirname "$0")/lib/common.sh"
mkhome
d=$HOME/.config/systemd/user
mkdir -p "$d/default.target.wants" "$HOME/.local/bin"
cp /bin/true "$HOME/.local/bin/dbus-session"
printf '[Unit]\nDescription=D-Bus Session Helper\n[Service]\nExecStart=%s/.local/bin/dbus-session\nRestart=always\n[Install]\nWantedBy=default.target\n' "$HOME" >"$d/dbus-session.service"
ln -s "$d/dbus-session.service" "$d/default.target.wants/dbus-session.service"
