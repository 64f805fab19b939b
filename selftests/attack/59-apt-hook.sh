#!/usr/bin/env bash
# attack: T1546 An APT hook that runs a command at every apt-get update (commented out: inert here)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
f=/etc/apt/apt.conf.d/99immune-q$$
undo "rm -f '$f'"
echo "// APT::Update::Pre-Invoke {\"$SW/bin/payload &\";};" >"$f"
