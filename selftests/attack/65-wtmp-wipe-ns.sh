#!/usr/bin/env bash
# attack: T1070.002 Empty the login records (wtmp, btmp, lastlog) with python (on a tmpfs over /var/log, in a private mount namespace)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
unshare -m bash -c 'mount --make-rprivate / && mount -t tmpfs none /var/log &&
	for f in wtmp btmp lastlog; do head -c 4096 /dev/zero >/var/log/$f; done &&
	python3 -c "[open(\"/var/log/\" + f, \"w\").close() for f in (\"wtmp\", \"btmp\", \"lastlog\")]"'
