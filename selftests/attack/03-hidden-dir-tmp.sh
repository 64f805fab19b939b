#!/usr/bin/env bash
# attack: T1564.001 Stage a payload in a hidden directory under /tmp
. "$(dirname "$0")/lib/common.sh"
d=/tmp/.q$$
undo "rm -rf '$d'"
mkdir "$d"
cp /bin/true "$d/.sshd"
