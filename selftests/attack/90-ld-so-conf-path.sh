#!/usr/bin/env bash
# attack: T1574.006 Add a library directory of one's own to the loader's search path (/etc/ld.so.conf.d, on a tmpfs in a private mount namespace)
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
mkdir -p "$SW/lib"
unshare -m bash -c "mount --make-rprivate / && mount -t tmpfs none /etc/ld.so.conf.d &&
	echo '$SW/lib' >/etc/ld.so.conf.d/00-local.conf"
