#!/usr/bin/env bash
# attack: T1562.003 Point root's history file at /dev/null before working (on a tmpfs over /root, in a private mount namespace)
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
unshare -m bash -c "mount --make-rprivate / && mount -t tmpfs none /root && ln -sf /dev/null /root/.bash_history && export HISTFILESIZE=0"
