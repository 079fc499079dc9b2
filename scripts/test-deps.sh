#!/usr/bin/env bash
# test-deps.sh installs the real servers the tests start as child processes
# (shared/testsvc and the Redis tests): Debian's docker-registry, prometheus
# and redis-server, prometheus-blackbox-exporter (the peer `make bench`
# compares the health checks with), curl for the README walk-through, and
# chromium, the headless browser the console's browser tests drive
# (chromedp). Idempotent: it installs only what is missing, so
# `make test` runs it every time.
#
# Tests start their own servers on random loopback ports; they never use the
# system services these packages come with. So installing them neither
# starts their daemons (a policy-rc.d denies it for the time of the install
# where none exists) nor leaves them enabled at boot: each is disabled for
# systemd (`systemctl disable`, which works on the unit files also where
# systemd is not running, plus `--now` where it is) and for sysvinit
# (`update-rc.d <service> disable`), and stopped if it runs. Nothing is left
# on :5000, :9090, :6379, :9115 now or after a reboot.
#
# `scripts/test-deps.sh --disable-services` does the disabling alone, for a
# machine whose services an earlier version of this script left enabled.
set -euo pipefail

# binary the tests run | Debian package | its system service (- for none)
deps=(
	"/usr/bin/docker-registry docker-registry docker-registry"
	"/usr/bin/prometheus prometheus prometheus"
	"/usr/bin/promtool prometheus -"
	"/usr/bin/redis-server redis-server redis-server"
	"/usr/bin/prometheus-blackbox-exporter prometheus-blackbox-exporter prometheus-blackbox-exporter"
	"/usr/bin/curl curl -"
	"/usr/bin/chromium chromium -"
)

sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
fi

# disable_service keeps a system service from starting at boot and stops it
# if it runs. The tests start their own servers and never need it.
disable_service() {
	local service=$1
	if command -v systemctl >/dev/null 2>&1; then
		if [ -d /run/systemd/system ]; then
			"${sudo[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
		else
			# Not booted with systemd (a container, WSL): the unit's boot
			# links go all the same, so a later boot with systemd does not
			# start it.
			"${sudo[@]}" systemctl disable "$service" >/dev/null 2>&1 || true
		fi
	fi
	if [ -e "/etc/init.d/$service" ]; then
		if command -v update-rc.d >/dev/null 2>&1; then
			"${sudo[@]}" update-rc.d "$service" disable >/dev/null 2>&1 || true
		fi
		if [ ! -d /run/systemd/system ] && "/etc/init.d/$service" status >/dev/null 2>&1; then
			"${sudo[@]}" "/etc/init.d/$service" stop >/dev/null 2>&1 || true
		fi
	fi
}

if [ "${1:-}" = --disable-services ]; then
	for dep in "${deps[@]}"; do
		read -r _ _ service <<<"$dep"
		if [ "$service" != - ]; then
			disable_service "$service"
			echo "test-deps: $service disabled at boot and stopped"
		fi
	done
	exit 0
fi

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
	echo "test-deps: docker-registry, prometheus (with promtool), redis-server, curl and chromium are installed"
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: missing ${missing_pkgs[*]}; this script installs them with apt-get (Debian/Ubuntu)." >&2
	echo "test-deps: install them by hand, with the binaries at /usr/bin/{docker-registry,prometheus,redis-server,curl,chromium}." >&2
	exit 1
fi

if [ "$(id -u)" -ne 0 ] && [ "${#sudo[@]}" -eq 0 ]; then
	echo "test-deps: missing ${missing_pkgs[*]}; run this script as root (or install sudo)." >&2
	exit 1
fi

# Debian's maintainer scripts start a package's service through
# invoke-rc.d, which asks /usr/sbin/policy-rc.d first: exit status 101 is
# "not allowed". One is put in place for the install unless the machine has
# its own (then that one decides, and disable_service stops what started).
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# scripts/test-deps.sh: no service starts while the test dependencies install\nexit 101\n' |
		"${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod 755 "$policy"
	own_policy=1
fi
remove_policy() {
	if [ -n "$own_policy" ]; then
		"${sudo[@]}" rm -f "$policy"
	fi
}
trap remove_policy EXIT

echo "test-deps: installing ${missing_pkgs[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_pkgs[@]}"
remove_policy
own_policy=

for service in "${missing_services[@]}"; do
	disable_service "$service"
	echo "test-deps: $service is installed for the tests only: disabled at boot, not running"
done

for dep in "${deps[@]}"; do
	read -r bin pkg _ <<<"$dep"
	if [ ! -x "$bin" ]; then
		echo "test-deps: $pkg is installed but $bin is missing" >&2
		exit 1
	fi
done
echo "test-deps: done"
