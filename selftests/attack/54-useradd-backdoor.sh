#!/usr/bin/env bash
# attack: T1136.001 Create a local account for a way back in (useradd stand-in)
. "$(dirname "$0")/lib/common.sh"
fake useradd
"$SW/bin/useradd" -M -N -r -s /bin/bash -c evil_account evil_user
