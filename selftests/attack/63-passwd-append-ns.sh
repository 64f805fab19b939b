#!/usr/bin/env bash
# attack: T1136.001 Append a uid-0 account to /etc/passwd by hand (a bind-mounted copy, in a private mount namespace)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
cp /etc/passwd "$SW/passwd"
unshare -m bash -c "mount --make-rprivate / && mount --bind '$SW/passwd' /etc/passwd &&
	echo 'sysupd:x:0:0::/root:/bin/bash' >>/etc/passwd"
