#!/usr/bin/env bash
# lint.sh is make lint-contracts: the ecosystems' own tools read the hub's
# contracts, and any error or warning fails.
#   schemas/asyncapi.yaml  the official AsyncAPI parser (asyncapi-validate.mjs)
#   schemas/openapi.json   Redocly CLI lint, rules in redocly.yaml
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
"$here/install.sh"

node "$here/asyncapi-validate.mjs" "$root/schemas/asyncapi.yaml"

# No usage reports and no update notice from the CLI.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
"$here/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" --format=stylish "$root/schemas/openapi.json" 2>&1 |
	grep -v -e '^ *╔' -e '^ *║' -e '^ *╚' -e '^$' # the Node 20 end-of-life banner: Node 20.19+ is what package.json requires
