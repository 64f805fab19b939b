#!/usr/bin/env bash
# attack: T1562.001 Stop and disable security services (systemctl stand-in)
. "$(dirname "$0")/lib/common.sh"
fake systemctl
"$SW/bin/systemctl" stop falco
"$SW/bin/systemctl" disable auditd
