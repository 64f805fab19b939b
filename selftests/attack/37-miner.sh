#!/usr/bin/env bash
# attack: T1496 A coin miner connecting to a stratum pool
. "$(dirname "$0")/lib/common.sh"
cp /bin/true "$SW/bin/xmrig"
"$SW/bin/xmrig" -o stratum+tcp://127.0.0.1:3333 -u 4AdUndXHHZ --donate-level 1
python3 -c 'import socket; s=socket.socket(); s.settimeout(1); s.connect_ex(("127.0.0.1",3333))'
