#!/bin/sh
# Refreshes rules/sigma/ from a SigmaHQ/sigma checkout: every active rule whose
# logsource.product is linux, byte for byte, with its path as in that
# repository, plus the DRL licence. The daemon embeds them at build time.
# Usage: rules/sigma-refresh.sh SIGMA_CHECKOUT COMMIT
# (SIGMA_CHECKOUT may be a git clone at COMMIT, or a copy such as ../shared/sigma.)
set -eu
src=${1:?usage: rules/sigma-refresh.sh SIGMA_CHECKOUT COMMIT}
commit=${2:?usage: rules/sigma-refresh.sh SIGMA_CHECKOUT COMMIT}
dst=$(cd "$(dirname "$0")" && pwd)/sigma
if [ -d "$src/.git" ]; then
	head=$(git -C "$src" rev-parse HEAD)
	[ "$head" = "$commit" ] || { echo "sigma-refresh: $src is at $head, not $commit" >&2; exit 1; }
fi
for f in LICENSE LICENSE.Detection.Rules.md; do
	[ -f "$src/$f" ] && lic=$src/$f && break
done
[ -n "${lic:-}" ] || { echo "sigma-refresh: no LICENSE in $src" >&2; exit 1; }
tmp=$(mktemp -d "$dst.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
for top in rules rules-emerging-threats rules-threat-hunting; do
	[ -d "$src/$top" ] || continue
	# product: linux, however the rule indents it
	for f in $(cd "$src" && grep -rlE '^[[:space:]]+product:[[:space:]]*linux[[:space:]]*$' "$top" --include='*.yml' | sort); do
		mkdir -p "$tmp/$(dirname "$f")"
		cp "$src/$f" "$tmp/$f"
		n=$((n + 1))
	done
done
cp "$lic" "$tmp/LICENSE"
cat > "$tmp/SOURCE.md" <<EOT
# SigmaHQ rules for Linux, vendored

Every rule of SigmaHQ/sigma (https://github.com/SigmaHQ/sigma) under rules/,
rules-emerging-threats/ and rules-threat-hunting/ whose logsource.product is
linux ($n files), copied byte for byte with their paths, at commit
\`$commit\`, by \`rules/sigma-refresh.sh\`.

Licence: Detection Rule License (DRL) 1.1 (LICENSE). The DRL asks that an alert
built from a rule's match names the rule's author: every IMMUNE incident
carries \`rule.author\`. Do not edit these files; tune with the override file
or \`immunectl suppress\` (README, "Tuning").
EOT
rm -rf "$dst"
mv "$tmp" "$dst"
trap - EXIT
chmod 755 "$dst"
echo "sigma-refresh: $n rules at $commit in $dst"
