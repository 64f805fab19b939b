#!/usr/bin/env bash
# The benign workload: an ordinary working session of a developer and an
# administrator on this host, compressed into one run (a quarter of an hour
# or more at a terminal, some 250 commands): look around the machine, build
# this project from a clone, work in git, write and run a small C and Python
# project with tests (also in a scratch directory under /tmp), serve files on
# loopback and fetch them with curl, wget and urllib, TLS on loopback, pack
# and unpack archives and backups, read the docs, edit a configuration file
# under /etc, check disks, services and logs, make keys and certificates.
# $1 (= $BW) is its work directory, removed afterwards.
# Nothing here is an attack; every incident it raises is noise.
set -u
BW=${BW:-$1}
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$BW" || exit 1
export HOME=$BW/home GIT_AUTHOR_NAME=dev GIT_AUTHOR_EMAIL=dev@example.org GIT_COMMITTER_NAME=dev \
	GIT_COMMITTER_EMAIL=dev@example.org
mkdir -p "$HOME"
step() { echo "== $*"; }
q() { "$@" >/dev/null 2>&1; } # run, quietly: the output is not the point

step "where am I: the machine"
q uptime; q uname -a; q id; q whoami; q hostname; q w; q who; q date; q cat /etc/os-release
q ps aux; q ps -ef --forest; q top -bn1; q free -m; q df -h; q lsblk; q mount; q nproc
q ip addr; q ip route; q ss -tlnp; q ss -s; q cat /proc/cpuinfo; q cat /proc/meminfo; q lsmod; q env
q getent passwd root; q getent group sudo; q groups; q last -n 5; q dmesg
q systemctl status --no-pager; q systemctl list-units --type=service --no-pager
q systemctl list-timers --no-pager; q journalctl -n 50 --no-pager; q journalctl -u ssh -n 20 --no-pager
q sysctl kernel.osrelease; q timedatectl; q hostnamectl
q ls -la /etc; q ls -la /var/log; q stat /etc/hosts; q cat /etc/hosts; q cat /etc/resolv.conf
q du -sh /usr/share/doc; q find /etc -name '*.conf' -newer /etc/hostname; q which gcc make git python3
q dpkg -l; q dpkg -S /bin/ls; q apt-cache policy bash; q apt-cache show coreutils; q ldd /bin/ls
q tail -n 20 /var/log/dpkg.log; q sha256sum /bin/ls; q md5sum /etc/hosts
for f in $(ls /usr/share/doc/*/changelog.Debian.gz 2>/dev/null | head -15); do zcat "$f" | head -5 >/dev/null; done
for f in $(ls /usr/share/doc/*/copyright 2>/dev/null | head -15); do grep -c "License" "$f" >/dev/null; done
q man -P cat ls; q bash -c 'help cd'; q type ls; q uname -m

step "build this project from a clone"
git clone -q "$REPO" src 2>/dev/null || git clone -q "file://$REPO" src
(cd src && git log --oneline -5 && git status --short && make -j2 build/immuned build/immunectl && \
	build/immuned --version && build/immunectl --help && build/immuned --check-rules rules/builtin) >"$BW/build.log" 2>&1 ||
	echo "build failed (see the workload log)"
tail -3 "$BW/build.log"
q grep -rn "TODO" src/daemon; q find src -name '*.c' -newer src/Makefile; q wc -l src/daemon/*.c
(cd src && q git log --stat -3 && q git blame -L 1,20 Makefile && q git grep -n detect_event && q git diff HEAD~1 --stat)

step "git work on a project of my own"
mkdir -p proj && cd proj
git init -q . && git checkout -q -b main
cat > Makefile <<'MK'
CFLAGS = -O2 -Wall -Wextra
all: calc test_calc
calc: main.o calc.o
	$(CC) -o $@ $^
test_calc: test_calc.o calc.o
	$(CC) -o $@ $^
test: test_calc
	./test_calc
clean:
	rm -f *.o calc test_calc
MK
cat > calc.h <<'C'
int add(int a, int b);
int mul(int a, int b);
C
cat > calc.c <<'C'
#include "calc.h"
int add(int a, int b) { return a + b; }
int mul(int a, int b) { return a * b; }
C
cat > main.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "calc.h"
int main(int argc, char **argv) { if (argc < 3) return 2; printf("%d\n", add(atoi(argv[1]), atoi(argv[2]))); return 0; }
C
cat > test_calc.c <<'C'
#include <assert.h>
#include "calc.h"
int main(void) { assert(add(2, 3) == 5); assert(mul(4, 5) == 20); return 0; }
C
printf 'calc\ntest_calc\n*.o\n' > .gitignore
git add -A && git commit -qm "calc: add and mul"
make -s && make -s test && ./calc 2 3 >/dev/null
git checkout -q -b feature
sed -i 's/return a \* b;/return a * b; \/* product *\//' calc.c
git commit -qam "calc: comment" && git checkout -q main && git merge -q --no-edit feature
echo "int sub(int a, int b);" >> calc.h && git stash -q && git stash pop -q && git checkout -q -- calc.h
git tag v0.1 && q git log --graph --oneline --all && q git show HEAD && q git diff v0.1 HEAD
make -s clean && make -s CFLAGS=-g && make -s test
q gdb -batch -ex run --args ./calc 4 5
q strace -c -o "$BW/strace.txt" ./calc 1 1
q objdump -d calc; q nm calc; q readelf -h calc; q size calc
cd "$BW" && git clone -q proj proj2 && (cd proj2 && q git log && q git gc -q)

step "a scratch build under /tmp, tested by make"
SCRATCH=$(mktemp -d)
cp proj/*.c proj/*.h proj/Makefile "$SCRATCH/" && make -s -C "$SCRATCH" && make -s -C "$SCRATCH" test
cd "$BW" && rm -rf "$SCRATCH"

step "python: scripts, tests, sqlite"
mkdir -p py && cd py
cat > inv.py <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE IF NOT EXISTS items (name TEXT, qty INTEGER)")
db.executemany("INSERT INTO items VALUES (?, ?)", [("bolt", 10), ("nut", 25)])
db.commit()
print(json.dumps(dict(db.execute("SELECT name, qty FROM items").fetchall())))
PY
cat > test_inv.py <<'PY'
import subprocess, sys, unittest, json, os, tempfile
class T(unittest.TestCase):
    def test_json(self):
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.check_output([sys.executable, "inv.py", os.path.join(d, "x.db")])
            self.assertEqual(json.loads(out)["nut"], 25)
unittest.main()
PY
q python3 test_inv.py; q python3 inv.py "$BW/inv.db"; q sqlite3 "$BW/inv.db" 'SELECT count(*) FROM items'
q python3 -c 'import platform; print(platform.platform())'; q python3 -m json.tool < /etc/os-release
q python3 -m py_compile inv.py; q python3 -m pydoc json
cd "$BW"

step "serve files on loopback, fetch them"
mkdir -p www && cp -r py proj/*.c www/ && echo '<h1>hello</h1>' > www/index.html
python3 -m http.server --bind 127.0.0.1 8765 --directory www >/dev/null 2>&1 &
SRV=$!
for _ in $(seq 40); do curl -s -o /dev/null http://127.0.0.1:8765/ && break; sleep 0.1; done
q curl -s http://127.0.0.1:8765/index.html; q curl -sI http://127.0.0.1:8765/; q curl -s -o "$BW/calc.c" http://127.0.0.1:8765/calc.c
q wget -q -O - http://127.0.0.1:8765/index.html; q wget -q -P "$BW/dl" http://127.0.0.1:8765/main.c
q python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8765/index.html").read()[:10])'
q wget -q -O /tmp/immune-benign-$$.html http://127.0.0.1:8765/index.html && rm -f /tmp/immune-benign-$$.html
q curl -s -X POST -d 'q=1' http://127.0.0.1:8765/index.html
kill "$SRV"; wait "$SRV" 2>/dev/null

step "archives"
tar -czf src.tgz proj && tar -tzf src.tgz >/dev/null && mkdir -p un && tar -xzf src.tgz -C un
tar -cJf docs.txz -C /usr/share/doc/bash . 2>/dev/null; q xz -t docs.txz
gzip -k build.log && gunzip -c build.log.gz >/dev/null && rm -f build.log.gz
(cd proj && q zip -qr "$BW/proj.zip" . && q unzip -l "$BW/proj.zip")
cp /etc/services services.txt && bzip2 -k services.txt && bunzip2 -c services.txt.bz2 >/dev/null
q diff -u proj/calc.c un/proj/calc.c; (cd un/proj && q sh -c 'diff -u calc.c ../../proj/calc.c | patch -p0 --dry-run')

step "text and files"
sort /etc/services | uniq -c | sort -rn | head -5 >/dev/null; awk -F: '{print $1}' /etc/passwd | wc -l >/dev/null
cut -d: -f1,7 /etc/passwd >/dev/null; grep -c bash /etc/passwd >/dev/null; tr a-z A-Z < /etc/hostname >/dev/null
find /usr/include -name 'std*.h' | xargs grep -l size_t >/dev/null; sed -n '1,5p' /etc/services >/dev/null
head -c 1000000 /dev/urandom > blob && split -b 250000 blob part. && cat part.* | cmp - blob && rm -f part.* blob
mkdir -p a/b/c && touch a/b/c/f && cp -a a a2 && mv a2 a3 && ln -s a3 a4 && readlink a4 >/dev/null && rm -rf a a3 a4
echo "notes" > notes.txt && chmod 644 notes.txt && chmod +x proj/calc && q file proj/calc
printf '#!/bin/sh\necho "deploying $1"\n' > deploy.sh && chmod +x deploy.sh && ./deploy.sh staging >/dev/null
crontab -l 2>/dev/null; q ls -la "$HOME"; echo 'alias ll="ls -l"' >> "$HOME/.bash_aliases"

step "keys and certificates for a test service"
mkdir -p "$HOME/.ssh" && ssh-keygen -q -t ed25519 -N '' -C deploy -f "$HOME/.ssh/deploy_ed25519" && q ssh-keygen -lf "$HOME/.ssh/deploy_ed25519.pub"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$BW/dev.key" -out "$BW/dev.crt" -days 1 -subj /CN=localhost 2>/dev/null
q openssl x509 -in "$BW/dev.crt" -noout -subject -dates; q openssl rand -hex 16; q openssl dgst -sha256 /etc/hosts
q gpg --version; q base64 notes.txt; q xxd -l 64 /bin/ls

step "processes"
sleep 30 & S=$!
q ps -p "$S" -o pid,cmd; q pgrep -a sleep; kill "$S"; wait "$S" 2>/dev/null
q timeout 1 sleep 5; q nice -n 10 true; q ionice -c3 true
q bash -c 'for i in 1 2 3; do echo $i; done'; q sh -c 'exit 0'; q xargs -n1 echo < /etc/hostname

step "a configuration file of my own under /etc"
CONF=/etc/immune-benign-$$.conf
echo "listen = 127.0.0.1:8080" > "$CONF" && chmod 644 "$CONF" && sed -i 's/8080/8081/' "$CONF" && grep -q 8081 "$CONF"
rm -f "$CONF"
q systemctl stop immune-benign-demo-$$.service; q systemctl disable immune-benign-demo-$$.service
q systemctl restart immune-benign-demo-$$.service

step "disk, network and TLS checks"
dd if=/dev/zero of="$BW/disk.img" bs=1M count=16 2>/dev/null && q mkfs.ext4 -q -F "$BW/disk.img" && q dumpe2fs -h "$BW/disk.img"
q lsof -i; q lsof -p $$; q ip -s link; q ss -tan state established; q cat /proc/net/dev; q nstat -a
openssl s_server -accept 127.0.0.1:8443 -cert "$BW/dev.crt" -key "$BW/dev.key" -www >/dev/null 2>&1 &
TLS=$!
for _ in $(seq 30); do q curl -sk https://127.0.0.1:8443/ && break; sleep 0.1; done
echo | q timeout 5 openssl s_client -connect 127.0.0.1:8443 -servername localhost
kill "$TLS"; wait "$TLS" 2>/dev/null
q timeout 1 tail -f /var/log/dpkg.log; q timeout 1 journalctl -f --no-pager

step "backups"
tar -czf "$BW/home-backup.tgz" -C "$HOME" . && q tar -tzf "$BW/home-backup.tgz"
tar -czf "$BW/etc-net.tgz" /etc/hostname /etc/hosts /etc/resolv.conf 2>/dev/null
q sha256sum "$BW"/*.tgz; cp -a proj "$BW/proj.bak" && q diff -r proj "$BW/proj.bak" && rm -rf "$BW/proj.bak"

step "a second round in the repository"
(cd proj && git checkout -q -b fix && sed -i 's/return a + b;/return b + a;/' calc.c && git commit -qam "calc: commute" &&
	git checkout -q main && git rebase -q fix 2>/dev/null; q git log --oneline; q git reflog; q git shortlog -s;
	git branch -q -D fix; q git status; make -s && make -s test && vim -es -c '%s/add/add/ge' -c 'wq' calc.c)
q perl -e 'print join(",", map { $_ * 2 } 1..5), "\n"'; q awk 'BEGIN { for (i = 0; i < 3; i++) print i }'
q python3 -m unittest discover -s py -p 'test_*.py'

step "package and service checks"
q apt list --installed; q systemctl is-active cron ssh; q systemctl show -p MainPID ssh
q journalctl --disk-usage; q ls /etc/systemd/system; q cat /etc/crontab; q ls /etc/cron.d
q update-alternatives --list editor; q locale; q getconf PAGESIZE; q ulimit -a
echo "workload done"
