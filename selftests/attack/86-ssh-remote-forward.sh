#!/usr/bin/env bash
# attack: T1572 Open a reverse SSH tunnel in the background, host keys unchecked (to a closed loopback port: it fails)
. "$(dirname "$0")/lib/common.sh"
timeout 5 ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -N -f \
	-R 9001:127.0.0.1:22 -p 1 tunnel@127.0.0.1 >/dev/null 2>&1
true
