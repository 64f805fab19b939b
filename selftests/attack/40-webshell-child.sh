#!/usr/bin/env bash
# attack: T1505.003 A web server worker (php-fpm) spawning a shell
. "$(dirname "$0")/lib/common.sh"
cp /bin/bash "$SW/bin/php-fpm"
"$SW/bin/php-fpm" -c 'sh -c "id; uname -a" >/dev/null'
