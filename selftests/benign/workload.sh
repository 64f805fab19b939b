#!/usr/bin/env bash
# The benign workload: an ordinary working session of a developer and an
# administrator on this host, compressed into one run (a quarter of an hour
# or more at a terminal, some 250 commands): look around the machine, build
# this project from a clone, work in git, write and run a small C and Python
# project with tests (also in a scratch directory under /tmp), serve files on
# loopback and fetch them with curl, wget and urllib, TLS on loopback, pack
# and unpack archives and backups, read the docs, edit a configuration file
# under /etc, check disks, services and logs, make keys and certificates;
# then package queries, a configure script and make, git maintenance, the
# python standard library, xz and incremental backups, rotating an
# application's logs, ssh keys and known_hosts, systemd tooling, a test user
# with a crontab, editing /etc files in a copy, building a .deb, and a second
# look around. The harness runs it as a login session (loginuid set), as
# sshd's pam_loginuid makes an administrator's.
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
step "packages: what is installed, what an upgrade would do (no network needed)"
q apt-cache search --names-only '^coreutils$'; q apt-cache depends bash; q apt-cache rdepends --installed libc6
q apt-get -s -o Debug::NoLocking=1 upgrade; q apt-get check; q dpkg -L coreutils; q dpkg --verify coreutils
q dpkg-query -W -f='${Package} ${Version}\n'; q dpkg --print-architecture; q apt-mark showmanual

step "a configure script, as autoconf writes them, then make"
mkdir -p "$BW/cfg" && cd "$BW/cfg"
cat > configure <<'SH'
#!/bin/sh
# probes the host and the compiler the way autoconf's output does
echo "checking build system type... $(uname -m)-pc-$(uname -s | tr A-Z a-z)-gnu"
for prog in cc gcc make install sed grep awk pkg-config; do
	printf 'checking for %s... ' "$prog"; command -v "$prog" || echo no
done
cat > conftest.c <<'C'
#include <stdio.h>
#include <unistd.h>
int main(void) { printf("%ld\n", sysconf(_SC_PAGESIZE)); return 0; }
C
printf 'checking whether the C compiler works... '
cc -o conftest conftest.c && ./conftest >/dev/null && echo yes
for h in stdint.h sys/epoll.h linux/bpf.h sqlite3.h; do
	printf '#include <%s>\nint main(void) { return 0; }\n' "$h" > conftest.c
	if cc -c conftest.c -o conftest.o 2>/dev/null; then echo "#define HAVE_$(echo "$h" | tr a-z./ A-Z__) 1"; fi
done > config.h
rm -f conftest conftest.c conftest.o
echo "cores: $(getconf _NPROCESSORS_ONLN), host: $(hostname)"
printf 'all: hello\nhello: hello.c config.h\n\t$(CC) -O2 -o $@ hello.c\nclean:\n\trm -f hello\n' > Makefile
SH
chmod +x configure
printf '#include "config.h"\n#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' > hello.c
q ./configure && make -s && ./hello >/dev/null && make -s clean
q sh ./configure; cd "$BW"

step "more git: history, maintenance"
(cd proj && q git fsck && q git gc -q --aggressive && q git count-objects -v && q git log --since=1.day --author=dev &&
	q git bisect start HEAD v0.1 && q git bisect reset && q git archive --format=tar.gz -o "$BW/proj-v0.1.tgz" v0.1 &&
	q git describe --tags --always && git config core.hooksPath .githooks && q git config --list --local)

step "python: modules from the standard library, a report script"
cat > "$BW/report.py" <<'PY'
import csv, grp, io, os, pwd, shutil, sys
users = [(u.pw_name, u.pw_uid, u.pw_shell) for u in pwd.getpwall()]
logins = [u for u in users if not u[2].endswith(("nologin", "false"))]
out = io.StringIO()
w = csv.writer(out)
w.writerow(["user", "uid", "shell"])
w.writerows(logins)
total, used, free = shutil.disk_usage("/")
print(out.getvalue(), len(grp.getgrall()), "groups;", f"{used * 100 // total}% of / used", os.cpu_count(), "cpus")
PY
q python3 "$BW/report.py"; q python3 -m timeit -n 1000 'sum(range(100))'; q python3 -m cProfile -s time "$BW/report.py"
q python3 -m zipfile -c "$BW/py.zip" py; q python3 -m zipfile -l "$BW/py.zip"; q python3 -m tarfile -l "$BW/src.tgz"
q python3 -m base64 -e /etc/hostname; q python3 -c 'import hashlib; print(hashlib.sha256(open("/etc/hostname", "rb").read()).hexdigest())'
q python3 -c 'import socket; print(socket.gethostname(), socket.getfqdn())'; q python3 -m sysconfig

step "archives: xz, zstd-less compression levels, an incremental backup"
tar -cf - proj py | xz -T1 -6 > "$BW/work.txz" && q xz -l "$BW/work.txz" && xz -dc "$BW/work.txz" | tar -tf - >/dev/null
tar --listed-incremental="$BW/snap" -czf "$BW/inc0.tgz" proj && echo more >> proj/notes.md &&
	tar --listed-incremental="$BW/snap" -czf "$BW/inc1.tgz" proj && q tar -tzf "$BW/inc1.tgz"
gzip -9 -c /etc/services > "$BW/services.gz" && q gzip -l "$BW/services.gz" && q zcat "$BW/services.gz"

step "rotate an application's logs by hand, as logrotate would"
mkdir -p "$BW/app/log"
for i in $(seq 200); do echo "$(date +%FT%T) worker[$$]: request $i ok"; done > "$BW/app/log/app.log"
for n in 3 2 1; do [ -e "$BW/app/log/app.log.$n.gz" ] && mv "$BW/app/log/app.log.$n.gz" "$BW/app/log/app.log.$((n + 1)).gz"; done
cp "$BW/app/log/app.log" "$BW/app/log/app.log.1" && truncate -s 0 "$BW/app/log/app.log" && gzip -9 "$BW/app/log/app.log.1"
find "$BW/app/log" -name 'app.log.*.gz' -mtime +7 -delete; q ls -la "$BW/app/log"; q zcat "$BW/app/log/app.log.1.gz"
# the same for a service that logs under /var/log: copy, truncate in place (copytruncate), drop the old ones
VL=/var/log/immune-benign-$$
mkdir -p "$VL" && cp "$BW/app/log/app.log.1.gz" "$VL/app.log.2.gz" && seq 100 > "$VL/app.log"
cp "$VL/app.log" "$VL/app.log.1" && truncate -s 0 "$VL/app.log" && gzip -f "$VL/app.log.1" && rm -f "$VL/app.log.2.gz"
q du -sh /var/log; q ls -la "$VL"; rm -rf "$VL"

step "backups of configuration and homes, certificates that expire"
tar -czf "$BW/etc-full.tgz" /etc 2>/dev/null; q tar -tzf "$BW/etc-full.tgz"
[ -e "$HOME/.ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C dev -f "$HOME/.ssh/id_ed25519"
mkdir -p "$BW/mirror" && cp -a "$HOME/." "$BW/mirror/home/" && tar -czf "$BW/mirror/home.tgz" -C "$BW" home
q find /etc /usr/share/ca-certificates -name '*.pem' -o -name '*.crt'; q openssl x509 -in "$BW/dev.crt" -noout -checkend 86400

step "ssh: a test key, its fingerprint, known_hosts housekeeping, the client's effective configuration"
ssh-keygen -q -t rsa -b 2048 -N '' -C ci-test -f "$BW/ci_rsa" && q ssh-keygen -y -f "$BW/ci_rsa" && q ssh-keygen -lf "$BW/ci_rsa.pub"
echo "[127.0.0.1]:2222 $(cat "$BW/ci_rsa.pub")" > "$HOME/.ssh/known_hosts" && q ssh-keygen -F '[127.0.0.1]:2222' -f "$HOME/.ssh/known_hosts"
q ssh-keygen -R '[127.0.0.1]:2222' -f "$HOME/.ssh/known_hosts"; q ssh -G localhost; q ssh -V

step "systemd tooling that needs no running manager"
printf '[Unit]\nDescription=benign demo\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' > "$BW/demo.service"
q systemd-analyze calendar daily 'Mon *-*-* 03:00'; q systemd-analyze timespan 90min; q systemd-analyze verify "$BW/demo.service"
q systemd-escape -p /var/lib/demo; q systemd-id128 new; q systemd-detect-virt

step "a test user for a CI job: create it, give it a crontab, look, remove it all"
U=ibu$$
useradd -m -s /bin/bash -c "CI job user" "$U" && q id "$U" && q chage -l "$U" && q getent passwd "$U"
printf '# m h dom mon dow command\n15 3 * * * /usr/bin/find /home/%s/tmp -mtime +3 -delete\n' "$U" > "$BW/user.cron"
if command -v crontab >/dev/null; then q crontab -u "$U" "$BW/user.cron" && q crontab -u "$U" -l && q crontab -u "$U" -r; fi
q passwd -S "$U"; q usermod -c "CI job user (retired)" "$U"; userdel -r "$U" 2>/dev/null

step "edit system configuration in a copy before installing it"
mkdir -p "$BW/etc" && cp -a /etc/ssh/ssh_config /etc/hosts /etc/services /etc/passwd "$BW/etc/"
sed -i 's/^#   ServerAliveInterval.*/ServerAliveInterval 60/' "$BW/etc/ssh_config" && q diff -u /etc/ssh/ssh_config "$BW/etc/ssh_config"
echo "127.0.0.1 build-cache.internal" >> "$BW/etc/hosts" && q diff /etc/hosts "$BW/etc/hosts"
awk -F: '$3 >= 1000 && $3 < 65534 { print $1 }' "$BW/etc/passwd" >/dev/null; q grep -c . "$BW/etc/services"

step "build a Debian package of a small tool and inspect it"
P=$BW/pkg/benign-tool_1.0_all
mkdir -p "$P/DEBIAN" "$P/usr/local/bin" "$P/usr/share/doc/benign-tool"
printf '#!/bin/sh\necho "benign-tool 1.0"\n' > "$P/usr/local/bin/benign-tool" && chmod 755 "$P/usr/local/bin/benign-tool"
printf 'Package: benign-tool\nVersion: 1.0\nArchitecture: all\nMaintainer: Dev <dev@example.org>\nDescription: a demo\n' > "$P/DEBIAN/control"
printf '#!/bin/sh\nset -e\necho "configured benign-tool"\n' > "$P/DEBIAN/postinst" && chmod 755 "$P/DEBIAN/postinst"
echo "demo" > "$P/usr/share/doc/benign-tool/README"
q fakeroot dpkg-deb --build "$P" "$BW/pkg/" && q dpkg-deb -I "$BW"/pkg/benign-tool_1.0_all.deb && q dpkg-deb -c "$BW"/pkg/benign-tool_1.0_all.deb
mkdir -p "$BW/pkg/x" && q dpkg-deb -x "$BW"/pkg/benign-tool_1.0_all.deb "$BW/pkg/x" && "$BW/pkg/x/usr/local/bin/benign-tool" >/dev/null

step "look around again, as admins do after a change"
for _ in 1 2 3; do q ps aux --sort=-%cpu; q top -bn1 -o %MEM; q ss -tanp; q ip -br addr; q lsof -nP -iTCP -sTCP:LISTEN; q uptime; done
q find /var/log -type f -size +1M; q du -sh /var/cache/apt /var/lib/dpkg /usr/share; q find /etc -mmin -60 -type f
q df -i; q vmstat 1 2; q free -h; q cat /proc/loadavg; q ls -la /proc/self/fd; q pstree -p $$

echo "workload done"
