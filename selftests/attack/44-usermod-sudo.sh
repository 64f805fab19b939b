#!/usr/bin/env bash
# attack: T1098 Add an account to the sudo group (usermod stand-in)
. "$(dirname "$0")/lib/common.sh"
fake usermod
"$SW/bin/usermod" -aG sudo backdoor
