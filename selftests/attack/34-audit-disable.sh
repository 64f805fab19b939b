#!/usr/bin/env bash
# attack: T1562.012 Delete audit rules and disable auditing (auditctl stand-in)
. "$(dirname "$0")/lib/common.sh"
fake auditctl
"$SW/bin/auditctl" -D
"$SW/bin/auditctl" -e 0
