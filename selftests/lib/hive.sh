# Shared by the Hive selftests (hive.sh, hive_pg.sh): certificates made with
# the openssl CLI, recorded exec events that raise one incident each, and the
# wait for a started Hive to answer on its control socket.
mkca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
	-days 30 -subj "/CN=$1" 2>/dev/null; }
mkcert() { # NAME SAN CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
	printf 'subjectAltName=%s\n' "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" -days 30 \
		-extfile "$1.ext" 2>/dev/null
}
hive_answers() { # SOCKET [TRIES of 0.1 s]: true once immunectl status answers there
	local i
	for ((i = 0; i < ${2:-50}; i++)); do
		"$IMMUNECTL" --socket "$1" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
gen_events() { # FILE N FIRST_PID
	local i
	for ((i = 0; i < $2; i++)); do
		printf '{"@timestamp":"2026-11-24T06:00:00.%09dZ","event":{"kind":"event","category":["process"],"type":["start"],"action":"exec","outcome":"success"},"process":{"pid":%d,"thread":{"id":%d},"executable":"/tmp/x-%d","name":"x-%d","args":["/tmp/x-%d"],"args_count":1,"command_line":"/tmp/x-%d","working_directory":"/tmp","parent":{"pid":1,"executable":"/bin/sh","command_line":"sh"}},"user":{"id":"0"},"group":{"id":"0"},"file":{"path":"/tmp/x-%d"},"immune":{"truncated":[],"exec":{"filename":"/tmp/x-%d","syscall":"execve","ret":0}}}\n' \
			"$i" $(($3 + i)) $(($3 + i)) "$i" "$i" "$i" "$i" "$i" "$i"
	done >"$1"
}
