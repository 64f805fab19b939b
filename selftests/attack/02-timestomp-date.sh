#!/usr/bin/env bash
# attack: T1070.006 Backdate a file's times (touch -t, touch -d)
. "$(dirname "$0")/lib/common.sh"
echo payload > "$SW/.cache-data"
touch -t 201901010000 "$SW/.cache-data"
touch -a -m -d "2019-01-01 00:00:00" "$SW/.cache-data"
