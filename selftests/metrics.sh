#!/bin/sh
# The Prometheus endpoint against the live kernel: --metrics on loopback,
# `promtool check metrics` finds nothing to say about the exposition, the
# families carry what happened (events by kind and CPU, an incident by rule
# and level, a verdict by map, the BPF programs' run counts while
# kernel.bpf_stats_enabled is on), and a real Prometheus scrapes it (loopback
# only, at most 60 s). Needs Debian's prometheus package (.ci/deps).
#   selftests/metrics.sh BUILD_DIR
BUILD=${1:-build}
# dash's "." passes no arguments: the suite name must be $1 when scenario.sh reads it
set -- metrics
. "$(dirname "$0")/lib/scenario.sh" metrics
[ -n "$W" ] && [ -d "$W" ] || exit 1
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
	echo "SKIPPED: promtool and prometheus are not installed (Debian's prometheus package)"
	exit 0
fi
RULE=0b5e1f00-0000-4000-8000-0000000e7e1c

free_port() { # a loopback port nothing listens on
	p=$1
	while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
	echo "$p"
}
PORT=$(free_port 19101)
PROM_PORT=$(free_port $((PORT + 1)))
HIVE_PORT=$(free_port $((PROM_PORT + 1)))
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics"; }

mkdir "$W/rules"
cat >"$W/rules/m.yml" <<EOF
title: IMMUNE selftest - metrics marker
id: $RULE
logsource: {product: linux, category: process_creation}
detection:
    selection:
        CommandLine|contains: 'immune-metrics-marker-5b2e'
    condition: selection
level: high
EOF
stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled)
echo 1 >/proc/sys/kernel/bpf_stats_enabled
PROM_PID=
HPID=
cleanup_metrics() {
	[ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null && wait "$HPID" 2>/dev/null
	echo "$stats_was" >/proc/sys/kernel/bpf_stats_enabled
	cleanup
}
trap cleanup_metrics EXIT INT TERM

# a Hive for the link's families: a fleet CA, the Hive's and this agent's certificates
mk() { # NAME SAN [CA]
	if [ $# = 2 ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$1.key" -out "$W/$1.pem" \
			-days 2 -subj "/CN=$1" 2>/dev/null
		return
	fi
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/$1.key" -out "$W/$1.csr" \
		-subj "/CN=$1" 2>/dev/null
	printf 'subjectAltName=%s\n' "$2" >"$W/$1.ext"
	openssl x509 -req -in "$W/$1.csr" -CA "$W/$3.pem" -CAkey "$W/$3.key" -CAcreateserial -out "$W/$1.pem" \
		-days 2 -extfile "$W/$1.ext" 2>/dev/null
}
mk ca x
mk hive "IP:127.0.0.1" ca
mk agent "DNS:agent" ca
"$IMMUNED" --role hive --listen "127.0.0.1:$HIVE_PORT" --ca "$W/ca.pem" --cert "$W/hive.pem" --key "$W/hive.key" \
	--db "$W/hive.db" --socket "$W/hive.sock" 2>"$W/hive.log" &
HPID=$!

"$IMMUNED" --enforce fallback --pin-dir "$PIN" --socket "$SOCK" --db "$DB" --rules "$W/rules" --stats-interval 0 \
	--metrics "$PORT" --output "$W/incidents.txt" --hive "127.0.0.1:$HIVE_PORT" --hive-ca "$W/ca.pem" \
	--hive-cert "$W/agent.pem" --hive-key "$W/agent.key" --agent-id agent 2>"$W/immuned.log" &
DPID=$!
i=0
while [ $i -lt 100 ] && ! scrape >/dev/null 2>&1; do
	sleep 0.1
	i=$((i + 1))
done
if ! scrape >"$W/m0" 2>/dev/null; then
	notok "the endpoint answers on 127.0.0.1:$PORT"
	cat "$W/immuned.log"
	echo "$PASS passed, $FAIL failed"
	exit 1
fi
ok "the endpoint answers on 127.0.0.1:$PORT (a bare port is loopback)"
check "it listens on loopback only" "127.0.0.1:$PORT" "$(ss -Hltn "sport = :$PORT" | awk '{print $4}')"

"$PROBE" exec /bin/true immune-metrics-marker-5b2e >/dev/null
cp "$PROBE" "$W/blockme"
ctl block exec "$W/blockme" >/dev/null
check "a blocked exec is denied" "signal 9" "$("$PROBE" exec "$W/blockme" true)"
sleep 0.5
scrape >"$W/m1"
lint=$(promtool check metrics <"$W/m1" 2>&1)
check "promtool check metrics: exit 0, nothing to say" "0 " "$? $lint"
# the probe and the /bin/true it runs both carry the marker: two incidents
grep -q '^immune_incidents_total{rule="'$RULE'",level="high"} 2$' "$W/m1" && ok "the incidents, by rule and level" ||
	notok "the incident, by rule and level: $(grep immune_incidents_total "$W/m1")"
grep -q '^immune_verdicts{map="verdict_exec",action="deny"} 1$' "$W/m1" && ok "the verdict, by map and action" ||
	notok "the verdict, by map and action"
grep -q '^immune_enforcement_denials{map="verdict_exec"} [1-9]' "$W/m1" && ok "the denial, on its map" ||
	notok "the denial, on its map: $(grep immune_enforcement_denials "$W/m1")"
ncpu=$(grep -c '^immune_events_total{kind="exec",cpu=' "$W/m1")
check "events by kind and CPU: a line per possible CPU" "$(cat /sys/devices/system/cpu/possible | awk -F- '{print $NF + 1}')" "$ncpu"
execs=$(grep '^immune_events_total{kind="exec",' "$W/m1" | awk '{s += $2} END {print s + 0}')
[ "$execs" -ge 2 ] && ok "the execs are counted ($execs)" || notok "the execs are counted ($execs)"
for fam in immune_events_dropped_total immune_events_received_total immune_events_lost_total immune_rules \
	immune_processes process_resident_memory_bytes immune_enforcement_mode immune_bpf_program_runs_total \
	immune_bpf_program_run_seconds_total immune_reloads_total; do
	grep -q "^# TYPE $fam " "$W/m1" && ok "family $fam" || notok "family $fam"
done
i=0
while [ $i -lt 50 ] && ! scrape | grep -q '^immune_hive_backlog_incidents 0$'; do
	sleep 0.1
	i=$((i + 1))
done
scrape >"$W/m3"
grep -q '^immune_hive_link_up 1$' "$W/m3" && grep -q '^immune_hive_link_state{state="connected"} 1$' "$W/m3" &&
	ok "the Hive link: up, connected" || notok "the Hive link: up, connected: $(grep hive_link "$W/m3")"
grep -q '^immune_hive_backlog_incidents 0$' "$W/m3" && grep -q '^immune_hive_incidents_acknowledged_total [2-9]' "$W/m3" &&
	ok "the Hive took the incidents: backlog 0" || notok "the Hive took the incidents: $(grep hive_ "$W/m3")"
kill "$HPID" && wait "$HPID" 2>/dev/null
HPID=
"$PROBE" exec /bin/true immune-metrics-marker-5b2e >/dev/null
i=0
while [ $i -lt 50 ] && ! scrape | grep -q '^immune_hive_backlog_incidents [1-9]'; do
	sleep 0.1
	i=$((i + 1))
done
scrape >"$W/m4"
grep -q '^immune_hive_link_up 0$' "$W/m4" && grep -q '^immune_hive_backlog_incidents 2$' "$W/m4" &&
	ok "the Hive gone: link down, 2 incidents wait" || notok "the Hive gone: $(grep hive_ "$W/m4")"
grep -q '^immune_bpf_stats_enabled 1$' "$W/m1" && ok "bpf_stats on: said so" || notok "bpf_stats on: said so"
echo 0 >/proc/sys/kernel/bpf_stats_enabled
scrape >"$W/m2"
grep -q '^immune_bpf_stats_enabled 0$' "$W/m2" && ! grep -q immune_bpf_program_runs_total "$W/m2" &&
	ok "bpf_stats off: no run counts" || notok "bpf_stats off: no run counts"
check "a path other than /metrics: 404" 22 "$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/" >/dev/null; echo $?)"

# a real Prometheus scrapes it
cat >"$W/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: immune
    static_configs: [{targets: ['127.0.0.1:$PORT']}]
EOF
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$W/prometheus.log" 2>&1 &
PROM_PID=$!
q() { curl -sf --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"; }
i=0
while [ $i -lt 60 ]; do
	q 'up{job="immune"}' 2>/dev/null | grep -q '"value":\[[0-9.]*,"1"\]' && break
	sleep 1
	i=$((i + 1))
done
check "Prometheus scrapes the endpoint: up{job=\"immune\"} is 1" 1 \
	"$(q 'up{job="immune"}' | grep -c '"value":\[[0-9.]*,"1"\]')"
check "Prometheus has the incident by rule" 1 \
	"$(q "immune_incidents_total{rule=\"$RULE\"}" | grep -c '"level":"high"')"
health=$(curl -sf --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/targets" | grep -o '"lastError":"[^"]*"' | head -1)
check "the scrape had no error" '"lastError":""' "$health"
stop_daemon
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
