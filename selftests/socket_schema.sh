#!/bin/sh
# The control socket against schema/socket.schema.json: a real immuned, real
# requests (valid and not), every reply validated; immunectl --json replies too.
#   selftests/socket_schema.sh BUILD_DIR
set -u
BUILD=${1:-build}
IMMUNED=${IMMUNED:-$BUILD/immuned}
IMMUNECTL=${IMMUNECTL:-$BUILD/immunectl}
SRC=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "SKIPPED: the socket schema test runs immuned, which needs root"
	exit 0
fi
PY=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jsonschema' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "SKIPPED: no python3 with jsonschema (apt-get install python3-jsonschema)"
	exit 0
fi

W=$(mktemp -d /tmp/immune-schema.XXXXXX)
PIN=/sys/fs/bpf/immune-schema-$$
SOCK=$W/immune.sock
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -rf "$PIN" "$W"
}
trap cleanup EXIT INT TERM

"$IMMUNED" --enforce off --pin-dir "$PIN" --socket "$SOCK" --db "$W/immune.db" --stats-interval 0 \
	--output /dev/null 2>"$W/immuned.log" &
DPID=$!
i=0
until [ -S "$SOCK" ] && "$IMMUNECTL" --socket "$SOCK" status >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$DPID" 2>/dev/null; then
		echo "immuned did not start:"
		cat "$W/immuned.log"
		echo "0 passed, 1 failed"
		exit 1
	fi
	sleep 0.1
done

printf '#!/bin/sh\nexit 0\n' >"$W/tool"
chmod +x "$W/tool"
"$IMMUNECTL" --socket "$SOCK" --json block exec "$W/tool" >"$W/ctl.block.json"
"$IMMUNECTL" --socket "$SOCK" --json verdicts >"$W/ctl.verdicts.json"
"$IMMUNECTL" --socket "$SOCK" --json status >"$W/ctl.status.json"
"$IMMUNECTL" --socket "$SOCK" --json unblock exec "$W/tool" >"$W/ctl.unblock.json"

"$PY" - "$SRC/schema/socket.schema.json" "$SOCK" "$W" <<'EOF'
import json, socket, sys
from jsonschema import Draft202012Validator

schema_path, sock_path, work = sys.argv[1:4]
schema = json.load(open(schema_path))
Draft202012Validator.check_schema(schema)
passed = failed = 0

def validator(ref):
    s = dict(schema)
    s.pop("oneOf", None)
    s["$ref"] = ref
    return Draft202012Validator(s)

def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + name)
    else:
        failed += 1
        print("not ok - %s %s" % (name, detail))

def errors(ref, doc):
    return [e.message for e in validator(ref).iter_errors(doc)]

def rpc(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    s.sendall((req if isinstance(req, str) else json.dumps(req)).encode() + b"\n")
    buf = b""
    while b"\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    line = buf.split(b"\n")[0].decode()
    return json.loads(line)

tool = work + "/tool"
# (request, reply definition when it succeeds, whether it must succeed)
cases = [
    ({"cmd": "status", "id": 1}, "status", True),
    ({"cmd": "help"}, "help", True),
    ({"cmd": "block", "kind": "net", "target": "192.0.2.0/24:443"}, "put", True),
    ({"cmd": "block", "kind": "net", "target": "[2001:db8::1]:22", "id": "x"}, "put", True),
    ({"cmd": "allow", "kind": "net", "target": "198.51.100.7"}, "put", True),
    ({"cmd": "block", "kind": "file", "target": tool}, "put", True),
    ({"cmd": "verdicts"}, "verdicts", True),
    ({"cmd": "verdicts", "kind": "net"}, "verdicts", True),
    ({"cmd": "reapply"}, "reapply", True),
    ({"cmd": "reload", "id": 7}, "reload", True),
    ({"cmd": "unblock", "kind": "net", "target": "192.0.2.0/24:443"}, "unblock", True),
    ({"cmd": "unblock", "kind": "file", "target": tool}, "unblock", True),
    ({"cmd": "incidents", "limit": 5, "since_ns": 1700000000000000000}, "incidents", True),
    # refused by the daemon, with a schema-valid request
    ({"cmd": "unblock", "kind": "net", "target": "203.0.113.9"}, None, False),
    ({"cmd": "block", "kind": "exec", "target": work + "/missing"}, None, False),
    ({"cmd": "block", "kind": "net", "target": "10.0.0.1/8"}, None, False),
    ({"cmd": "block", "kind": "net", "target": "1.2.3.4", "fleet": True}, None, False),
]
for req, rdef, must_ok in cases:
    name = json.dumps(req)
    errs = errors("#/$defs/request", req)
    check("request valid: " + name, not errs, errs)
    rep = rpc(req)
    errs = errors("#/$defs/reply", rep)
    check("reply valid: " + name, not errs, errs)
    if must_ok:
        errs = errors("#/$defs/replies/" + rdef, rep) if rep.get("ok") else [rep.get("error")]
        check("reply of %s matches replies/%s" % (name, rdef), not errs, errs)
    else:
        check("refused with an error: " + name, rep.get("ok") is False and rep.get("error"), rep)
    if "id" in req:
        check("id echoed: " + name, rep.get("id") == req["id"], rep)

# requests outside the schema get a schema-valid error reply
for bad, code in [("not json", "bad-request"), ('{"nocmd":1}', "bad-request"),
                  ('{"cmd":"frobnicate"}', "unknown-command")]:
    if bad.startswith("{"):
        check("schema refuses " + bad, errors("#/$defs/request", json.loads(bad)) != [])
    rep = rpc(bad)
    errs = errors("#/$defs/error", rep)
    check("error reply valid for " + bad, not errs and rep.get("code") == code, (errs, rep))

# what immunectl --json printed
for f, rdef in [("ctl.block.json", "put"), ("ctl.verdicts.json", "verdicts"),
                ("ctl.status.json", "status"), ("ctl.unblock.json", "unblock")]:
    try:
        doc = json.load(open(work + "/" + f))
        errs = errors("#/$defs/replies/" + rdef, doc)
    except Exception as e:
        errs = [str(e)]
    check("immunectl --json %s matches replies/%s" % (f, rdef), not errs, errs)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
EOF
