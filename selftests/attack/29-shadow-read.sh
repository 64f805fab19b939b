#!/usr/bin/env bash
# attack: T1003.008 Read /etc/shadow
. "$(dirname "$0")/lib/common.sh"
cat /etc/shadow > /dev/null
