#!/usr/bin/env bash
# The counters' three renderings (`immunectl status`, the --stats record,
# /metrics) from a live immuned, reduced to their shape: every key path of
# status and of the stats record in order, every HELP/TYPE line and every
# sample's name and labels of the exposition (the values change from run to
# run; tests/test_counters.c checks the values). Writes BUILD's shape to OUT.
#   selftests/tools/counters_shape.sh BUILD_DIR OUT   (root: loads the sensor; hold /tmp/immune-kernel.lock)
set -u
BUILD=$(cd "${1:?BUILD_DIR}" && pwd)
OUT=${2:?OUT}
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root to load the sensor"; exit 0; }
W=$(mktemp -d /tmp/immune-counters.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W" "/sys/fs/bpf/immune-counters-$$"' EXIT
PORT=$((30000 + $$ % 20000))
"$BUILD/immuned" --socket "$W/s.sock" --db "$W/i.db" --pin-dir "/sys/fs/bpf/immune-counters-$$" \
	--metrics "127.0.0.1:$PORT" --stats-interval 1 --format json --duration 6 --enforce off \
	>"$W/out.json" 2>"$W/err" &
PID=$!
for _ in $(seq 50); do [ -S "$W/s.sock" ] && break; sleep 0.1; done
sleep 2
"$BUILD/immunectl" --socket "$W/s.sock" --json status >"$W/status.json"
"$BUILD/immunectl" --socket "$W/s.sock" status >"$W/status.txt"
curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$W/metrics.txt"
wait "$PID"
PID=
python3 - "$W" <<'PY' | uniq >"$OUT"
import json, re, sys
w = sys.argv[1]
def paths(o, p=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from paths(v, p + "." + k)
    elif isinstance(o, list):
        yield p + "[]"
    else:
        yield p + " " + type(o).__name__
st = json.load(open(w + "/status.json"))
for x in paths(st):
    if not x.startswith((".hive", ".config", ".version")) and ".by_rule." not in x:
        print("status" + x)
by_rule = None
for line in open(w + "/status.txt"):
    line = line.rstrip("\n")
    ind = len(line) - len(line.lstrip())
    # per-rule lines and the version change from run to run: their shape is in the paths above
    if line.strip() == "by_rule:":
        by_rule = ind
    elif by_rule is not None and ind > by_rule:
        continue
    else:
        by_rule = None
    if not line.lstrip().startswith("version:"):
        print("status-text " + re.sub(r"\d+(\.\d+)?", "N", line))
# the record goes to the output with --events, else to stderr after "immuned: "
lines = list(open(w + "/out.json")) + [l[len("immuned: "):] for l in open(w + "/err") if l.startswith("immuned: {")]
stats = [json.loads(l) for l in lines if '"metric"' in l]
for x in paths(stats[-1]["immune"]["stats"]):
    print("stats" + x)
for line in open(w + "/metrics.txt"):
    line = line.rstrip("\n")
    if line.startswith("#"):
        print("metrics " + line)
    else:
        if not line.startswith("immune_incidents_total{"):
            print("metrics " + re.sub(r"cpu=\"\d+\"", 'cpu="N"', line.rsplit(" ", 1)[0]))
PY
echo "shape of $BUILD in $OUT: $(wc -l <"$OUT") lines"
