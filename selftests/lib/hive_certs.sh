# Sourced by the Hive selftests: test certificates made with the openssl CLI
# in the current directory (NAME.key, NAME.pem).
mkca() { # NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
		-days 30 -subj "/CN=$1" 2>/dev/null
}
mkcert() { # NAME SAN CA
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
	printf 'subjectAltName=%s\n' "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" -days 30 \
		-extfile "$1.ext" 2>/dev/null
}
