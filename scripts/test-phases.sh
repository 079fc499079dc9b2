#!/usr/bin/env bash
# test-phases.sh is `make test`: it runs each phase (a make target) in turn,
# says what starts and how long it usually takes, prints a line every 30 s
# while a phase is silent, and ends with a table of the phases' durations —
# also when a phase fails (it names that phase; the later ones do not run)
# or on Ctrl-C.
#
# Usual durations (2 cores): "cold" is a fresh clone with an empty Go build
# cache, "warm" a second run.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}

# phase | make target | usual duration
phases=(
	"deps|test-deps|seconds when installed; 1-3 min the first time (apt-get install)"
	"fmt|fmt|~10 s"
	"vet|vet|cold ~6 min (compiles every package, race build), warm ~40 s"
	"staticcheck|staticcheck|~1 min (installs staticcheck the first time; reuses vet's build)"
	"standalone|standalone|~15 s"
	"contracts|lint-contracts|~1 min the first time (npm ci), then ~15 s"
	"unit|unit|cold ~5.5 min, warm ~4 min (race detector, real servers)"
	"fuzz|fuzz|cold ~0.7-1.5 min, warm ~30 s (~20 s of fuzzing plus three small instrumented builds)"
	"walkthrough|walkthrough|~15 s (the hub is built by then)"
)

names=()
took=()
results=()
for p in "${phases[@]}"; do
	names+=("${p%%|*}")
	took+=("-")
	results+=("not run")
done

fmt_secs() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

summary() {
	local failed=$1 total=$((SECONDS - start)) i
	echo
	echo "make test: phase durations"
	printf '  %-12s %-8s %s\n' phase took result
	for i in "${!names[@]}"; do
		printf '  %-12s %-8s %s\n' "${names[$i]}" "${took[$i]}" "${results[$i]}"
	done
	printf '  %-12s %s\n' total "$(fmt_secs "$total")"
	if [ -n "$failed" ]; then
		echo "make test: FAILED in phase $failed (after $(fmt_secs "$total"))"
	else
		echo "make test: all passed in $(fmt_secs "$total")"
	fi
}

ticker=
current=
stop_ticker() {
	if [ -n "$ticker" ]; then
		kill "$ticker" 2>/dev/null || true
		wait "$ticker" 2>/dev/null || true
		ticker=
	fi
}
interrupted() {
	stop_ticker
	if [ -n "$current" ]; then
		took[$current]=$(fmt_secs $((SECONDS - phase_start)))
		results[$current]="interrupted"
	fi
	summary "${names[${current:-0}]} (interrupted)"
	exit 130
}
trap interrupted INT TERM

start=$SECONDS
echo "make test: ${#phases[@]} phases (${names[*]}); cold ~9-15 min on 2 cores (machines differ), warm ~6-9 min"
for i in "${!phases[@]}"; do
	IFS='|' read -r name target usual <<<"${phases[$i]}"
	current=$i
	phase_start=$SECONDS
	echo
	echo "make test: [$((i + 1))/${#phases[@]}] $name (make $target; usually $usual) ..."
	(
		while sleep 30; do
			echo "make test: ... $name still running ($(fmt_secs $((SECONDS - phase_start))); usually $usual)"
		done
	) &
	ticker=$!
	"$MAKE" --no-print-directory "$target"
	status=$?
	stop_ticker
	took[$i]=$(fmt_secs $((SECONDS - phase_start)))
	if [ "$status" -ne 0 ]; then
		results[$i]="FAILED (exit $status)"
		current=
		summary "$name"
		exit 1
	fi
	results[$i]="ok"
	echo "make test: $name ok in ${took[$i]}"
done
current=
summary ""
