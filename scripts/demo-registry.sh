#!/usr/bin/env bash
# demo-registry.sh runs a container registry on this machine for the README's
# discovery walk-through: Debian's docker-registry (the build the tests use;
# `make test` installs it) listening on loopback only, anonymous, with its
# storage under the hub's data directory. It runs in the foreground until
# Ctrl-C.
#
#   scripts/demo-registry.sh                  # http://127.0.0.1:5000
#   scripts/demo-registry.sh 127.0.0.1:5001   # another address
#
# The hub refuses loopback addresses until the operator allows them: run the
# hub with INTHUB_ALLOWED_CIDRS=127.0.0.1 make run to reach this registry.
set -euo pipefail

addr=${1:-127.0.0.1:5000}
bin=${DOCKER_REGISTRY:-/usr/bin/docker-registry}
if [ ! -x "$bin" ]; then
	echo "demo-registry: $bin is missing. Install it with 'sudo apt-get install docker-registry'" >&2
	echo "demo-registry: (Debian/Ubuntu; make test installs it too), or run the same registry in docker:" >&2
	echo "demo-registry:   docker run --rm -p ${addr}:5000 registry:2" >&2
	exit 1
fi

dir=${INTHUB_DATA_DIR:-.data}/registry
mkdir -p "$dir/storage"
dir=$(cd "$dir" && pwd)
cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: "$dir/storage"
  delete:
    enabled: true
http:
  addr: "$addr"
EOF
echo "demo-registry: http://$addr (storage in $dir/storage; Ctrl-C stops)"
exec "$bin" serve "$dir/config.yml"
