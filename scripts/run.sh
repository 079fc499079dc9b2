#!/usr/bin/env bash
# run.sh is `make run`: build the hub with visible progress, then replace
# this shell by it (exec), so Ctrl-C reaches the hub alone, the hub stops
# gracefully and exits 0, and make reports no error.
#
# A cold build cache compiles several hundred packages (about 3-4 min on 2
# cores); a warm one relinks in a few seconds. Progress: a line every 25
# compiled packages and, while one large package compiles, a line every
# 15 s; compiler errors are shown as they come.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
bin=bin/devstack

echo "make run: building the hub (first build ~3-4 min on 2 cores, later ones a few seconds) ..."
mkdir -p bin
start=$SECONDS
(
	while sleep 15; do
		echo "make run: still building ($((SECONDS - start)) s) ..."
	done
) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null || true' EXIT
# -v names each package as it is compiled (nothing when cached); package
# paths have no blanks, so every other line (errors, "# pkg") is shown.
if ! "$GO" build -v -o "$bin" ./services/devstack/cmd/devstack 2>&1 | awk '
	/^[^ \t:]+$/ { n++; if (n % 25 == 0) { printf "make run: compiled %d packages (%s)\n", n, $0; fflush() } ; next }
	{ print; fflush() }
	END { if (n > 0) printf "make run: compiled %d packages\n", n }'; then
	echo "make run: the build failed" >&2
	exit 1
fi
kill "$ticker" 2>/dev/null || true
wait "$ticker" 2>/dev/null || true
trap - EXIT
echo "make run: built in $((SECONDS - start)) s; starting the hub"
exec "$bin" "$@"
