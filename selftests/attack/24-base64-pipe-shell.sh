#!/usr/bin/env bash
# attack: T1027 Decode a base64 blob and pipe it into bash
. "$(dirname "$0")/lib/common.sh"
sh -c 'echo aWQgPiAvZGV2L251bGwK | base64 -d | bash'
