#!/usr/bin/env bash
# attack: T1497.001 Check for a VM or sandbox before running (dmidecode stand-in), from a service's shell
# set: unseen2
. "$(dirname "$0")/lib/common.sh"
fake dmidecode
export PATH=$SW/bin:$PATH
sh -c 'systemd-detect-virt; dmidecode -s system-product-name; cat /sys/class/dmi/id/product_name; grep -c hypervisor /proc/cpuinfo; ls /.dockerenv' >/dev/null 2>&1
true
