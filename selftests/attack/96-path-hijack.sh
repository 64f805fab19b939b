#!/usr/bin/env bash
# attack: T1574.007 Drop an executable named like a system tool early in PATH (/usr/local/bin/ls, on a tmpfs in a private mount namespace)
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
unshare -m bash -c "mount --make-rprivate / && mount -t tmpfs none /usr/local/bin &&
	printf '#!/bin/sh\nexec /bin/ls \"\$@\"\n' >/usr/local/bin/ls && chmod 755 /usr/local/bin/ls && /usr/local/bin/ls / >/dev/null"
