#!/usr/bin/env bash
# attack: T1027 Run a base64-encoded command through command substitution (no pipe into a shell)
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
bash -c 'eval "$(echo Y2F0IC9ldGMvaG9zdG5hbWUgPi9kZXYvbnVsbAo= | base64 -d)"'
