#!/usr/bin/env bash
# test-deps.sh installs the real servers the tests start as child processes
# (shared/testsvc and the Redis tests): Debian's docker-registry, prometheus
# and redis-server, and curl for the README walk-through. Idempotent: it installs only what is missing, so
# `make test` runs it every time.
#
# Tests start their own servers on random loopback ports; they never use the
# system services these packages come with. On a machine running systemd, the
# services of packages installed here are disabled and stopped again, so
# installing test dependencies does not leave daemons on :5000, :9090, :6379.
set -euo pipefail

# binary the tests run | Debian package | its system service (- for none)
deps=(
	"/usr/bin/docker-registry docker-registry docker-registry"
	"/usr/bin/prometheus prometheus prometheus"
	"/usr/bin/promtool prometheus -"
	"/usr/bin/redis-server redis-server redis-server"
	"/usr/bin/curl curl -"
)

missing_pkgs=()
missing_services=()
for dep in "${deps[@]}"; do
	read -r bin pkg service <<<"$dep"
	if [ -x "$bin" ]; then
		continue
	fi
	# prometheus and promtool come in one package: ask for it once.
	if [[ " ${missing_pkgs[*]-} " != *" $pkg "* ]]; then
		missing_pkgs+=("$pkg")
	fi
	if [ "$service" != - ]; then
		missing_services+=("$service")
	fi
done

if [ "${#missing_pkgs[@]}" -eq 0 ]; then
	echo "test-deps: docker-registry, prometheus (with promtool), redis-server and curl are installed"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: missing ${missing_pkgs[*]}; this script installs them with apt-get (Debian/Ubuntu)." >&2
	echo "test-deps: install them by hand, with the binaries at /usr/bin/{docker-registry,prometheus,redis-server,curl}." >&2
	exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "test-deps: missing ${missing_pkgs[*]}; run this script as root (or install sudo)." >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "test-deps: installing ${missing_pkgs[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_pkgs[@]}"

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	for service in "${missing_services[@]}"; do
		"${sudo[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
	done
fi

for dep in "${deps[@]}"; do
	read -r bin pkg _ <<<"$dep"
	if [ ! -x "$bin" ]; then
		echo "test-deps: $pkg is installed but $bin is missing" >&2
		exit 1
	fi
done
echo "test-deps: done"
