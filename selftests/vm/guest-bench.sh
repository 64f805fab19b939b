#!/bin/sh
# bench/overhead inside the VM, where the enforcement runs as BPF-LSM. The VM
# is emulated (TCG): only the ratios mean anything.
/immune/bench/overhead /immune --quick
