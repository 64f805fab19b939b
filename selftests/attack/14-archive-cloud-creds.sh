#!/usr/bin/env bash
# attack: T1560.001 Archive cloud and kube credentials from a home
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.aws" "$HOME/.kube"
echo "[default]" > "$HOME/.aws/credentials"
echo "apiVersion: v1" > "$HOME/.kube/config"
tar -cf "$SW/c.tar" -C "$HOME" .aws/credentials .kube/config
