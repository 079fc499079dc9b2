#!/usr/bin/env bash
# readme-walkthrough.sh runs the README's examples as a newcomer would, so
# they cannot rot: `make test` calls it (target `walkthrough`).
#
# It starts `make run` on a free port with a private data directory, and the
# README's demo registry (scripts/demo-registry.sh) on a free loopback port;
# fills the store with integrations of its own first, so an example that
# assumes an empty store (an ETag of "1", the first id of a list) fails; then
# runs every ```sh block the README marks with
#
#   <!-- walkthrough: scripts/readme-walkthrough.sh runs this block -->
#
# in one bash with `set -euo pipefail`, where curl fails on any answer that is
# not 2xx and every stella command must exit 0. The README's addresses are
# rewritten to the ones started here (http://localhost:8080, .data/,
# 127.0.0.1:5000); each must occur, so a README that moves them fails here
# rather than running against something else. Last, the output must show
# what the README says happens (see expect below).
set -euo pipefail
cd "$(dirname "$0")/.."

# make test runs this after its race build of every package (vet, unit): the
# hub and stella built with -race link from that build cache instead of
# compiling the whole tree once more without it (about 3 minutes on a cold
# 2-core machine). The README's commands behave the same either way.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-race"

marker='<!-- walkthrough: scripts/readme-walkthrough.sh runs this block -->'
deadline=${WALKTHROUGH_TIMEOUT:-300} # seconds for the README's blocks (a cold cache builds stella)
started=$SECONDS

log() { echo "walkthrough: $*"; }
fail() {
	echo "walkthrough: FAIL: $*" >&2
	exit 1
}

for tool in curl awk sed tr tee timeout; do
	command -v "$tool" >/dev/null || fail "$tool is missing"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/inthub-walkthrough.XXXXXX")
hub_pid=
registry_pid=
cleanup() {
	local status=$?
	set +m # no job notices for the processes stopped here
	for pid in $hub_pid $registry_pid; do
		# Each runs in its own process group (set -m): make and
		# the hub (or the script and its registry) stop together.
		kill -TERM -- "-$pid" 2>/dev/null || true
	done
	# The hub outlives make while it shuts down: wait for every process
	# of both groups before removing the directory they write to.
	for pid in $hub_pid $registry_pid; do
		for i in $(seq 1 100); do
			kill -0 -- "-$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ "$status" -ne 0 ]; then
		for f in walkthrough.out hub.out registry.out data/devstack.log; do
			[ -s "$work/$f" ] || continue
			echo "----- last lines of $f" >&2
			tail -n 40 "$work/$f" >&2
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
set -m # background jobs get process groups of their own

# free_port prints a loopback port nothing listens on (checked by connecting).
free_port() {
	local port i
	for i in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	fail "no free loopback port found"
}

# wait_for waits up to $1 seconds until the command succeeds, or fails
# naming what ($2); it gives up at once when the process $3 has ended.
wait_for() {
	local limit=$1 what=$2 pid=$3 i
	shift 3
	for i in $(seq 1 $((limit * 5))); do
		"$@" >/dev/null 2>&1 && return
		kill -0 "$pid" 2>/dev/null || fail "$what ended before it was ready"
		sleep 0.2
	done
	fail "$what was not ready within $limit s"
}

data=$work/data
mkdir -p "$data"

# The README's demo registry, on a free port; a port taken meanwhile is
# retried with another.
registry_ready() { curl -sf -o /dev/null "http://127.0.0.1:$registry_port/v2/"; }
for attempt in 1 2 3; do
	registry_port=$(free_port)
	INTHUB_DATA_DIR=$data scripts/demo-registry.sh "127.0.0.1:$registry_port" >"$work/registry.out" 2>&1 &
	registry_pid=$!
	for i in $(seq 1 100); do
		registry_ready && break
		kill -0 "$registry_pid" 2>/dev/null || break
		sleep 0.1
	done
	registry_ready && break
	kill -TERM -- "-$registry_pid" 2>/dev/null || true
	registry_pid=
done
[ -n "$registry_pid" ] || fail "the demo registry did not start: $(cat "$work/registry.out")"

# make run as the README's stella section has it (loopback allowed), on a
# port of its own; its first line says where it listens. Whatever the caller's
# environment says, the store is private: the embedded NATS in the data
# directory and the in-process cache.
env -u NATS_URL -u REDIS_URL -u INTHUB_NATS_PORT -u INTHUB_LOG_FILE -u INTHUB_LOCAL_SECRET_DIR \
	INTHUB_ADDR=127.0.0.1:0 INTHUB_DATA_DIR="$data" METRICS_ADDR=127.0.0.1:0 INTHUB_ALLOWED_CIDRS=127.0.0.1 \
	make --no-print-directory run >"$work/hub.out" 2>&1 &
hub_pid=$!
hub_url() { sed -n 's|^Integration Hub listening on \(http://[^ ]*\).*|\1|p' "$work/hub.out"; }
hub_listening() { [ -n "$(hub_url)" ]; }
# The first make run compiles the hub: with a cold build cache that takes minutes.
wait_for 600 "make run" "$hub_pid" hub_listening
url=$(hub_url)
log "README's marked blocks against make run at $url (up after $((SECONDS - started)) s), demo registry at 127.0.0.1:$registry_port"

# A store that is not empty: integrations made and changed before the
# README's, so revisions are past "1" and lists hold more than the README's.
token=$(cat "$data/dev-token")
for name in first second; do
	id=$(curl -sf -D - -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		"$url/api/v1/integrations" -d '{"typeId":"webhook","name":"walkthrough '"$name"'","config":{"url":"https://hooks.example.com/'"$name"'"}}' |
		tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }' | sed 's|.*/||')
	[ -n "$id" ] || fail "could not create the integration $name before the README's"
	curl -sf -o /dev/null -X PATCH -H "Authorization: Bearer $token" -H 'Content-Type: application/merge-patch+json' \
		-H 'If-Match: *' "$url/api/v1/integrations/$id" -d '{"description":"made before the README"}' ||
		fail "could not change the integration $name before the README's"
done

# The marked blocks, in README order, with the addresses rewritten.
fail_flag=--fail-with-body # curl 7.76 and later
curl --help all 2>/dev/null | grep -q -- --fail-with-body || fail_flag=--fail
script=$work/walkthrough.sh
cat >"$script" <<EOF
set -euo pipefail
# curl as the README runs it, except that an answer that is not 2xx fails.
curl() { command curl $fail_flag "\$@"; }
EOF
rewrite() {
	local text=$1 from to
	shift
	while [ "$#" -ge 2 ]; do
		from=$1 to=$2
		shift 2
		text=${text//"$from"/"$to"}
	done
	printf '%s\n' "$text"
}
mkdir "$work/blocks"
awk -v marker="$marker" -v dir="$work/blocks" '
	$0 == marker { armed = 1; next }
	armed && /^```sh$/ { inside = 1; armed = 0; n++; out = sprintf("%s/%03d.sh", dir, n); next }
	inside && /^```$/ { inside = 0; close(out); next }
	inside { print > out; next }
	armed && NF { armed = 0 }
' README.md
markers=$(grep -cxF -- "$marker" README.md || true)
blocks=0
used_data=0 used_url=0 used_registry=0
for file in "$work"/blocks/*.sh; do
	[ -e "$file" ] || continue
	blocks=$((blocks + 1))
	block=$(cat "$file")
	case $block in *'.data/'*) used_data=1 ;; esac
	case $block in *'http://localhost:8080'*) used_url=1 ;; esac
	case $block in *'127.0.0.1:5000'*) used_registry=1 ;; esac
	{
		echo "echo '### README block $blocks' >&2"
		rewrite "$block" 'http://localhost:8080' "$url" '.data/' "$data/" '127.0.0.1:5000' "127.0.0.1:$registry_port"
	} >>"$script"
done
[ "$blocks" = "$markers" ] || fail "README.md has $markers walkthrough markers but only $blocks are followed by a sh block"
[ "$blocks" -ge 2 ] || fail "README.md has $blocks marked sh blocks; want the Try it and the stella walk-through"
[ "$used_url" = 1 ] || fail "no marked README block uses http://localhost:8080: update this script's rewrite"
[ "$used_data" = 1 ] || fail "no marked README block uses .data/: update this script's rewrite"
[ "$used_registry" = 1 ] || fail "no marked README block uses the registry at 127.0.0.1:5000: update this script's rewrite"

# Through a pipe, not straight into the file: the README's `tee /dev/stderr`
# would reopen (and truncate) a file.
if ! timeout "$deadline" bash "$script" 2>&1 | cat >"$work/walkthrough.out"; then
	fail "a README command failed or took over $deadline s (output below)"
fi

# What the README says happens, in the output.
expect() {
	grep -Eq -- "$1" "$work/walkthrough.out" || fail "the output lacks $2 (/$1/)"
}
expect '^HTTP/1\.1 201 Created' 'the created answer'
expect '"description":"hooks of the release train"' 'the updated description'
expect '^HTTP/1\.1 204 No Content' 'the deleted answer'
expect '^docker-registry +Docker Registry +registry +repositories,tags' 'docker-registry in the providers'
for check in connectivity authentication functionality; do
	expect "^$check +passed" "a passed $check check"
done
expect '^demo/api +demo/api' 'the discovered repository demo/api'
expect '^demo/web +demo/web' 'the discovered repository demo/web'
expect '^1\.1 +demo/api:1\.1' 'the discovered tag demo/api:1.1'
expect '^1\.0 +demo/api:1\.0' 'the discovered tag demo/api:1.0'
expect 'integration\.created\.[0-9a-f-]+\.[0-9a-f-]+' 'a replayed integration.created event'
expect '^SEQ +DEAD-LETTERED' 'the dead-letter list'

log "passed: $blocks README blocks, $((SECONDS - started)) s in all"
