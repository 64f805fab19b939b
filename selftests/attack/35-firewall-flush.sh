#!/usr/bin/env bash
# attack: T1562.004 Flush the firewall (iptables stand-in)
. "$(dirname "$0")/lib/common.sh"
fake iptables
"$SW/bin/iptables" -F
"$SW/bin/iptables" -P INPUT ACCEPT
