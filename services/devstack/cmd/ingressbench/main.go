// Command ingressbench is the ingress and memory part of `make bench`. It
// runs the whole hub in one process (as `make run`, the access log written
// as JSON at info to a discarding writer, so formatting is paid, not disk)
// and measures, each figure beside its goal on the same run:
//
//   - POST /api/v1/integrations from 32 concurrent clients (creates/s, p99);
//   - GET /api/v1/integrations/{id} closed loop at 50 clients (GET/s, p99)
//     and paced at 100 req/s in all (50 clients at 2 req/s for 20 s; a
//     request a slow answer delayed counts from its scheduled time, so a
//     slow answer is not hidden), beside its floor: the same clients and
//     pace against a bare net/http server answering the same bytes, with
//     the hub stopped (what this machine allows at best);
//   - memory with 100,000 integrations at the default check intervals, in a
//     child process of its own: the whole hub's resident set, what one
//     catalog view (the read model each catalog-holding service keeps)
//     costs per integration (measured in a process of its own again, so
//     the running hub's heap does not blur it), and the hub's resident set
//     per integration.
//
// It lives beside devstack because it runs the whole hub in one process;
// services themselves never import each other.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/stella-ops/inthub/services/devstack/internal/benchkit"
)

type options struct {
	createClients int
	getClients    int
	duration      time.Duration
	clientRate    float64
	pacedDuration time.Duration
	memN          int
	memSettle     time.Duration
	onlyMem       bool
	child         string
	natsURL       string
	cpuProfile    string
	createProfile string
	pacedProfile  string
	memProfile    string
	memCPUProfile string
}

func main() {
	var o options
	flag.IntVar(&o.createClients, "create-clients", 32, "concurrent clients of the create phase")
	flag.IntVar(&o.getClients, "get-clients", 50, "concurrent clients of the GET phases")
	flag.DurationVar(&o.duration, "duration", 8*time.Second, "length of each phase (after a one-second warm-up)")
	flag.Float64Var(&o.clientRate, "client-rate", 2, "requests per second of each client in the paced GET phase")
	flag.DurationVar(&o.pacedDuration, "paced-duration", 20*time.Second, "length of the paced GET phase and of its floor (2,000 requests at 100 req/s: a p99 of 800 is its 8th-slowest)")
	flag.IntVar(&o.memN, "mem-n", 100000, "integrations of the memory phase (0 skips it)")
	flag.DurationVar(&o.memSettle, "mem-settle", 20*time.Second, "how long the hub runs with them before its resident set is read")
	flag.BoolVar(&o.onlyMem, "only-mem", false, "run the memory phase only")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the create and GET phases to this file (of the GET phase only with -create-cpuprofile)")
	flag.StringVar(&o.createProfile, "create-cpuprofile", "", "write a CPU profile of the create phase alone to this file")
	flag.StringVar(&o.pacedProfile, "paced-cpuprofile", "", "write a CPU profile of the paced GET phase to this file")
	flag.StringVar(&o.memProfile, "memprofile", "", "write a heap profile of the memory phase's hub (after it settled) to this file")
	flag.StringVar(&o.memCPUProfile, "mem-cpuprofile", "", "write a CPU profile of the memory phase's hub while it settles to this file")
	flag.StringVar(&o.child, "child", "", "internal: run the memory phase (mem) or the catalog view's measurement (view) in this process")
	flag.StringVar(&o.natsURL, "nats-url", "", "internal: the hub's NATS URL, for -child view")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ingressbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, w io.Writer) error {
	switch o.child {
	case "mem":
		return memChild(ctx, o, w)
	case "view":
		return viewChild(ctx, o, w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(tw, "machine\t%s/%s, %d CPUs, %s, load average at the start %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), load)
	if !o.onlyMem {
		if err := apiPhases(ctx, o, tw); err != nil {
			return err
		}
	}
	if o.memN > 0 {
		if err := memPhase(ctx, o, tw); err != nil {
			return err
		}
	}
	load, _ = os.ReadFile("/proc/loadavg")
	fmt.Fprintf(tw, "load average at the end\t%s", load)
	return nil
}

func apiPhases(ctx context.Context, o options, tw *tabwriter.Writer) error {
	dir, err := os.MkdirTemp("", "ingressbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	h, err := startHub(ctx, dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer h.Stop()
	first := o.cpuProfile
	if o.createProfile != "" {
		first = o.createProfile
	}
	stopProfile, err := benchkit.StartProfile(first)
	if err != nil {
		return err
	}
	creates, ids, err := h.createPhase(ctx, o)
	if err != nil {
		stopProfile()
		return err
	}
	if o.createProfile != "" {
		stopProfile()
		if stopProfile, err = benchkit.StartProfile(o.cpuProfile); err != nil {
			return err
		}
	}
	closed, err := h.getPhase(ctx, ids, 0, o)
	if err != nil {
		stopProfile()
		return err
	}
	stopProfile()
	if stopProfile, err = benchkit.StartProfile(o.pacedProfile); err != nil {
		return err
	}
	paced, err := h.getPhase(ctx, ids, time.Duration(float64(time.Second)/o.clientRate), o)
	stopProfile()
	if err != nil {
		return err
	}
	_, answer, err := h.send(ctx, http.MethodGet, "/api/v1/integrations/"+ids[0], nil)
	if err != nil {
		return err
	}
	h.Stop()
	floor, err := floorPhase(ctx, o, answer)
	if err != nil {
		return err
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "ingress (README: Benchmarks, Ingress)\tclients\trequests\treq/s\tp50 ms\tp99 ms\tCPU µs/req\tgoal\tratio to goal\t\n")
	row := func(name string, clients int, p phase, goal string, ratio float64) {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%.0f\t%.2f\t%.2f\t%d\t%s\t%.2f\t\n", name, clients, len(p.latencies), p.perSecond,
			ms(percentile(p.latencies, 50)), ms(percentile(p.latencies, 99)), p.cpu.Microseconds(), goal, ratio)
	}
	row("POST /integrations, closed loop", o.createClients, creates, ">= 2,000/s", creates.perSecond/2000)
	row("GET /integrations/{id}, closed loop", o.getClients, closed, ">= 10,000/s", closed.perSecond/10000)
	row("  its p99", o.getClients, closed, "< 10 ms", ms(percentile(closed.latencies, 99))/10)
	row(fmt.Sprintf("GET /integrations/{id}, %.0f req/s in all", o.clientRate*float64(o.getClients)), o.getClients, paced, "p99 < 2 ms", ms(percentile(paced.latencies, 99))/2)
	fmt.Fprintf(tw, "  its floor: net/http answering the same bytes, same clients and pace, hub stopped\t%d\t%d\t%.0f\t%.2f\t%.2f\t\thub p99 / floor p99\t%.2f\t\n", o.getClients, len(floor.latencies), floor.perSecond,
		ms(percentile(floor.latencies, 50)), ms(percentile(floor.latencies, 99)), float64(percentile(paced.latencies, 99))/float64(percentile(floor.latencies, 99)))
	fmt.Fprintf(tw, "\ncheck commands still queued at the end of the create, closed-loop GET and paced GET phases\t%d, %d, %d\n", creates.backlog, closed.backlog, paced.backlog)
	return nil
}
