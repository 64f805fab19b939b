#!/usr/bin/env bash
# attack: T1222.002 Make a persistence file immutable, then mutable (chattr)
. "$(dirname "$0")/lib/common.sh"
echo x > "$SW/keep"
chattr +i "$SW/keep" 2>/dev/null
chattr -i "$SW/keep" 2>/dev/null
