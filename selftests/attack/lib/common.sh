# Sourced by every attack scenario. $1 (and $SW) is the scenario's own work
# directory, removed by the harness afterwards. Each scenario is bounded
# (timeouts on everything that waits) and undoes what it changed outside $SW
# (the `undo` list runs on exit). Commands that would change the host for
# real (auditctl -D, iptables -F, insmod, usermod) run as inert stand-ins: a
# copy of /bin/true under the real tool's name, with the attacker's
# arguments, which is all the sensor sees of them.
set -u
SW=${SW:-$1}
cd "$SW" || exit 1
mkdir -p "$SW/bin"
UNDO=()
undo() { UNDO+=("$*"); }
finish() {
	local i
	for ((i = ${#UNDO[@]} - 1; i >= 0; i--)); do eval "${UNDO[i]}" 2>/dev/null; done
	kill $(jobs -p) 2>/dev/null
	wait 2>/dev/null
}
trap finish EXIT

# An inert stand-in for a dangerous tool: $SW/bin/NAME
fake() { cp /bin/true "$SW/bin/$1"; }

# A throwaway user home under /home, as an attacker's foothold account has.
mkhome() {
	HOME=$(mktemp -d /home/immune-q.XXXXXX)
	export HOME
	undo "rm -rf '$HOME'"
}

# A loopback listener that takes one connection, sends "exit", and closes;
# prints its port. Gone after 15 s whatever happens.
listen() {
	local pf=$SW/.port.$RANDOM
	# its output goes nowhere: inheriting the $(listen) pipe would hold the caller until it exits
	timeout 15 python3 - "$pf" <<'PY' >/dev/null 2>&1 &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(4)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(12)
try:
    c, _ = s.accept(); c.settimeout(3)
    c.sendall(b"exit\n")
    try: c.recv(65536)
    except Exception: pass
    c.close()
except Exception:
    pass
PY
	for _ in $(seq 50); do [ -s "$pf" ] && break; sleep 0.05; done
	cat "$pf"
}

# A loopback web server over DIR for 20 s; prints its port.
serve() {
	local pf=$SW/.port.$RANDOM
	timeout 20 python3 - "$1" "$pf" <<'PY' >/dev/null 2>&1 &
import functools, http.server, os, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
class H(h.func):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); self.rfile.read(n)
        self.send_response(200); self.end_headers()
srv = http.server.HTTPServer(("127.0.0.1", 0), functools.partial(H, directory=sys.argv[1]))
open(sys.argv[2] + ".tmp", "w").write(str(srv.server_port)); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
PY
	for _ in $(seq 50); do [ -s "$pf" ] && break; sleep 0.05; done
	cat "$pf"
}
