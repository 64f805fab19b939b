#!/usr/bin/env bash
# attack: T1562.001 Weaken kernel protections: ptrace scope, ASLR, kernel pointer hiding (sysctl stand-in)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
fake sysctl
"$SW/bin/sysctl" -w kernel.yama.ptrace_scope=0
"$SW/bin/sysctl" -w kernel.randomize_va_space=0
"$SW/bin/sysctl" -w kernel.kptr_restrict=0
