// Command chaos is `make chaos`: the hub as an operator runs it — nats-server
// (one node, or a three-node JetStream cluster), Redis and each service as
// its own process on loopback — under a steady load of creates through the
// ingress and tests, discoveries and notifications on the bus, while one
// process is killed and restarted. Then it audits by id: commands without
// completion, duplicates, stored integrations without exactly one
// integration.created, deliveries per notification at a webhook receiver of
// its own, and the time until work resumed. It prints a table and exits 1
// when anything was lost.
//
// It lives beside the devstack because its module already requires
// nats-server, which the tool builds from the go.sum's version; it runs the
// services' own binaries, never their packages.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings.
type options struct {
	scenarios string
	rates     rates
	duration  time.Duration
	killAt    time.Duration
	down      time.Duration
	kills     int
	gap       time.Duration
	drain     time.Duration
	opTimeout time.Duration
	signal    syscall.Signal
	target    string
	targets   int
	latency   time.Duration
	runRate   float64
	runFor    time.Duration
	goals     goals
	repo      string
	workDir   string
	keep      bool
	strict    bool
	env       []string
}

// envFlags collects repeated -env KEY=VALUE.
type envFlags []string

func (e *envFlags) String() string { return strings.Join(*e, ",") }

func (e *envFlags) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	o, list, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	if list {
		for _, s := range scenarios {
			fmt.Printf("%-22s %s\n", s.name, s.about)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
	}
	os.Exit(code)
}

// parseFlags reads the command line; list asks for the scenarios only.
func parseFlags(args []string) (o options, list bool, err error) {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	var env envFlags
	var sig string
	fs.StringVar(&o.scenarios, "scenarios", "all", "comma-separated scenarios to run (-list names them)")
	fs.BoolVar(&list, "list", false, "list the scenarios and exit")
	fs.Float64Var(&o.rates.creates, "rate", 20, "creates per second through the ingress")
	fs.Float64Var(&o.rates.commands, "cmd-rate", 5, "tests, discoveries and notifications per second (each)")
	fs.DurationVar(&o.rates.readEvery, "read-every", 250*time.Millisecond, "interval of the list calls that time the catalog's availability")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of the load")
	fs.DurationVar(&o.killAt, "kill-at", 10*time.Second, "when into the load the target is stopped")
	fs.DurationVar(&o.down, "down", 5*time.Second, "how long the target stays down")
	fs.IntVar(&o.kills, "kills", 0, "times the target is stopped (0: the scenario's, 1 or 3)")
	fs.DurationVar(&o.gap, "gap", 3*time.Second, "time between the target being back and the next stop")
	fs.DurationVar(&o.drain, "drain", 90*time.Second, "how long to wait after the load for outstanding completions (above the 60s ack wait)")
	fs.DurationVar(&o.opTimeout, "op-timeout", 30*time.Second, "how long the client retries one create or publish before it gives up")
	fs.StringVar(&o.target, "target", "", "process to stop instead of the scenario's: a service replica (manager, notifier-2, ...), nats, nats-N, redis")
	fs.StringVar(&sig, "signal", "", "signal that stops the target (KILL, TERM); default: the scenario's")
	fs.IntVar(&o.targets, "targets", 4, "inmemory integrations the tests and discoveries go to")
	fs.DurationVar(&o.latency, "latency", 200*time.Millisecond, "latency of each check and discovery of those integrations")
	fs.Float64Var(&o.runRate, "run-rate", 1, "pipelines and analyses per second (each) in the scenarios with runs")
	fs.DurationVar(&o.runFor, "run-for", 5*time.Second, "how long a pipeline of the CI target runs (pending 1s, then running)")
	fs.DurationVar(&o.goals.recovery, "goal-recovery", 5*time.Second, "goal: work resumes within this of the process being back")
	fs.DurationVar(&o.goals.elsewhere, "goal-elsewhere", 10*time.Second, "goal: a killed worker's commands complete on another replica within this")
	fs.StringVar(&o.repo, "repo", ".", "root of the repository (for building and deployments/nats)")
	fs.StringVar(&o.workDir, "workdir", "", "folder for the runs' stores and logs (default: a temporary one)")
	fs.BoolVar(&o.keep, "keep", false, "keep every run's folder (logs, stores); by default only runs that lost something are kept")
	fs.BoolVar(&o.strict, "strict", false, "also exit 1 on duplicates and missed recovery goals")
	fs.Var(&env, "env", "KEY=VALUE added to every service's environment (repeatable), e.g. -env INTHUB_ACK_WAIT=15s")
	if err := fs.Parse(args); err != nil {
		return o, false, err
	}
	o.env = env
	switch strings.ToUpper(strings.TrimPrefix(strings.ToUpper(sig), "SIG")) {
	case "":
	case "KILL":
		o.signal = syscall.SIGKILL
	case "TERM":
		o.signal = syscall.SIGTERM
	default:
		return o, false, fmt.Errorf("-signal %q: want KILL or TERM", sig)
	}
	switch {
	case o.rates.creates < 0 || o.rates.commands < 0 || o.rates.creates > 500 || o.rates.commands > 500:
		return o, false, fmt.Errorf("-rate and -cmd-rate: want 0 to 500 per second")
	case o.rates.readEvery < 10*time.Millisecond:
		return o, false, fmt.Errorf("-read-every: want at least 10ms")
	case o.duration <= 0 || o.duration > time.Hour:
		return o, false, fmt.Errorf("-duration: want up to 1h")
	case o.killAt+o.down+2*time.Second > o.duration:
		return o, false, fmt.Errorf("-kill-at (%s) + -down (%s) leave no load after the restart in -duration %s", o.killAt, o.down, o.duration)
	case o.kills < 0 || o.kills > 20:
		return o, false, fmt.Errorf("-kills: want 0 to 20")
	case o.runRate < 0 || o.runRate > 50:
		return o, false, fmt.Errorf("-run-rate: want 0 to 50 per second")
	case o.runFor < 2*time.Second || o.runFor > 10*time.Minute:
		return o, false, fmt.Errorf("-run-for: want 2s to 10m")
	case o.targets < 1 || o.targets > 100:
		return o, false, fmt.Errorf("-targets: want 1 to 100")
	case o.drain < 0 || o.drain > time.Hour || o.opTimeout <= 0 || o.opTimeout > time.Hour:
		return o, false, fmt.Errorf("-drain and -op-timeout: want up to 1h")
	}
	if _, err := pickScenarios(o.scenarios); err != nil {
		return o, false, err
	}
	return o, list, nil
}

// run builds the binaries, runs every chosen scenario and prints the table;
// the exit code is 1 when anything was lost or a scenario could not run.
func run(ctx context.Context, o options, w io.Writer) (int, error) {
	picked, err := pickScenarios(o.scenarios)
	if err != nil {
		return 2, err
	}
	base, err := os.MkdirTemp(o.workDir, "inthub-chaos-")
	if err != nil {
		return 1, err
	}
	o.workDir = base
	keepBase := o.keep
	defer func() {
		if !keepBase {
			_ = os.RemoveAll(base)
		}
	}()
	progress("building the services and nats-server into %s", filepath.Join(base, "bin"))
	bins, err := build(ctx, o.repo, filepath.Join(base, "bin"))
	if err != nil {
		return 1, err
	}
	started := time.Now()
	fmt.Fprintf(w, "make chaos, %s, %s/%s, %d CPUs, load average %s at the start\n\n", started.UTC().Format("2006-01-02 15:04 MST"),
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), loadAverage())
	var results []result
	for _, sc := range picked {
		if ctx.Err() != nil {
			break
		}
		res := runScenario(ctx, o, bins, sc)
		results = append(results, res)
		printResult(os.Stderr, res, o)
		switch {
		case o.keep:
		case res.err != nil || res.lost:
			keepBase = true
			progress("%s: logs and stores kept in %s", sc.name, res.dir)
		default:
			_ = os.RemoveAll(res.dir)
		}
	}
	printTable(w, results, o)
	fmt.Fprintf(w, "\n%d scenarios in %s, load average %s at the end\n", len(results), time.Since(started).Round(time.Second), loadAverage())
	code := 0
	for _, r := range results {
		if r.err != nil || r.lost || (o.strict && len(r.problems) > 0) {
			code = 1
		}
	}
	if ctx.Err() != nil {
		return 1, ctx.Err()
	}
	return code, nil
}

// printTable writes the results as a Markdown table, then each scenario's
// verdict. Columns: sent, done (completed), lost (no completion), dup (extra
// copies), no event (stored without exactly one integration.created, or
// delivered without notification.sent), recovery (target back to the
// flow's first success), in flight (stop to the completion of what was in
// flight), held (target back to that completion), max (slowest operation).
func printTable(w io.Writer, results []result, o options) {
	fmt.Fprintf(w, "| scenario | flow | sent | done | lost | dup | no event | recovery s | in flight s | held s | max s |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(w, "| %s | error | | | | | | | | | |\n", r.sc.name)
			continue
		}
		for _, row := range r.report.rows {
			lost := fmt.Sprint(row.lost)
			if row.flow == flowRead {
				lost = fmt.Sprintf("(%d failed)", row.sent-row.done)
			}
			noEvent := "-"
			if row.noEvent >= 0 {
				noEvent = fmt.Sprint(row.noEvent)
			}
			fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %d | %s | %s | %s | %s | %s |\n", r.sc.name, row.flow, row.sent, row.done, lost, row.dups,
				noEvent, seconds(row.recovery), seconds(row.inFlight), seconds(row.stuck), seconds(row.maxLatency))
		}
	}
	fmt.Fprintln(w)
	for _, r := range results {
		fmt.Fprintln(w, verdictLine(r, o))
	}
}

// verdictLine is one scenario's outcome in a sentence.
func verdictLine(r result, o options) string {
	var b strings.Builder
	status := "ok"
	switch {
	case r.err != nil:
		status = "ERROR"
	case r.lost:
		status = "LOST"
	case len(r.problems) > 0:
		status = "not ok"
	}
	fmt.Fprintf(&b, "- %s: %s", r.sc.name, status)
	if r.fault.injected() {
		var downs []string
		for _, c := range r.fault.cycles {
			if c.back.IsZero() {
				downs = append(downs, "never back")
				continue
			}
			downs = append(downs, fmt.Sprintf("%.1fs", c.back.Sub(c.at).Seconds()))
		}
		fmt.Fprintf(&b, " (%s stopped %dx from %s into the load; down until ready: %s)", r.fault.target, len(r.fault.cycles), o.killAt, strings.Join(downs, ", "))
	}
	fmt.Fprintf(&b, "; load average %s→%s", r.load[0], r.load[1])
	if r.err != nil {
		fmt.Fprintf(&b, ": %s", firstLine(r.err.Error()))
	}
	if len(r.problems) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(r.problems, "; "))
	}
	if len(r.exits) > 0 {
		var parts []string
		for name, n := range r.exits {
			parts = append(parts, fmt.Sprintf("%s %d", name, n))
		}
		fmt.Fprintf(&b, "; processes that exited on their own and were restarted: %s", strings.Join(parts, ", "))
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "; %s", n)
	}
	return b.String()
}

// printResult tells the operator one scenario's outcome as it finishes.
func printResult(w io.Writer, r result, o options) {
	fmt.Fprintln(w, "chaos: "+strings.TrimPrefix(verdictLine(r, o), "- "))
}
