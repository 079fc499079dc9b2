#!/usr/bin/env bash
# install.sh installs the contract linters at the exact versions of
# package-lock.json (npm ci) into scripts/contract-lint/node_modules (git-ignored),
# unless that folder already holds this very lock. Install scripts are not
# run: the linters need none (the one dependency that has one only reports
# usage). make test-deps and make lint-contracts call it.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "contract-lint: Node.js (20.19 or later, with npm) is needed for the contract linters; install it (e.g. apt-get install nodejs npm)" >&2
	exit 1
fi
stamp=node_modules/.inthub-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi
echo "contract-lint: npm ci (@asyncapi/parser, @redocly/cli at the versions of package-lock.json) ..."
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
echo "$want" >"$stamp"
