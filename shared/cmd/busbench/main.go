// Command busbench is the bus part of `make bench`. On one embedded
// nats-server (JetStream, file store, loopback only) it measures raw
// JetStream publish+consume, then the hub's command -> handler -> event round
// trip through shared/bus, and prints both with their ratio.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// options are the command-line settings.
type options struct {
	n           int
	concurrency int
	inflight    int
	timeout     time.Duration
	halfRateFor time.Duration
	json        bool
	cpuProfile  string
	memProfile  string
	stages      bool
	pace        float64
	trace       string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 20000, "messages per phase")
	// 32, not 8: a handler waits for its event's publish ack, so with 8
	// the round trip was bound by that latency rather than by CPU.
	flag.IntVar(&o.concurrency, "concurrency", 32, "bus.Route Concurrency of the hub handler")
	flag.DurationVar(&o.halfRateFor, "half-rate-for", 5*time.Second, "length of the latency phase paced at half the hub's peak rate (0 skips it)")
	flag.IntVar(&o.inflight, "inflight", 256, "messages published but not yet received, per phase (0 = unbounded burst)")
	flag.DurationVar(&o.timeout, "timeout", 120*time.Second, "time limit of each phase")
	flag.BoolVar(&o.json, "json", false, "print a JSON summary instead of text")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the hub round-trip phase (with -pace, of the paced one) to this file")
	flag.StringVar(&o.memProfile, "memprofile", "", "write a heap profile (allocations) taken after the hub round-trip phase to this file")
	flag.Float64Var(&o.pace, "pace", 0, "skip the peak phases and run the paced ones at this many msgs/s: two builds compared at the same offered load")
	flag.StringVar(&o.trace, "trace", "", "write an execution trace of the paced hub phase to this file (go tool trace -pprof=sched shows where goroutines waited to run)")
	flag.BoolVar(&o.stages, "stages", false, "stamp each message of the half-peak phase at each stage and print where the slowest 1 % waited (stderr)")
	flag.Parse()
	if o.n < 1 || o.concurrency < 1 || o.inflight < 0 || o.timeout <= 0 {
		fmt.Fprintln(os.Stderr, "busbench: -n and -concurrency must be at least 1, -inflight at least 0, -timeout positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "busbench:", err)
		os.Exit(1)
	}
}

// summary is everything one run measured; it is also the -json output.
type summary struct {
	Machine     machine     `json:"machine"`
	NATSServer  string      `json:"natsServer"`
	Messages    int         `json:"messages"`
	Inflight    int         `json:"inflight"`
	Concurrency int         `json:"concurrency"`
	Raw         phaseResult `json:"raw"`
	Hub         phaseResult `json:"hub"`
	// HalfRate is the round trip paced at half Hub's msgs/s: its p99 is
	// the latency at a load the hub carries with room to spare.
	HalfRate *phaseResult `json:"halfRate,omitempty"`
	// HalfRateTarget is the pace of HalfRate, msgs/s.
	HalfRateTarget float64 `json:"halfRateTarget,omitempty"`
	// RawHalfRate is raw JetStream paced at HalfRateTarget: the latency the
	// broker and the machine give at that pace, without the hub.
	RawHalfRate *phaseResult `json:"rawHalfRate,omitempty"`
	// HubRawRatio is hub msgs/s divided by raw msgs/s.
	HubRawRatio float64 `json:"hubRawThroughputRatio"`
	// Load is /proc/loadavg at the end of the run: the figures are only
	// comparable between runs on an equally quiet machine.
	Load string `json:"load"`
}

func run(ctx context.Context, o options, w io.Writer) error {
	dir, err := os.MkdirTemp("", "busbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := startServer(dir)
	if err != nil {
		return err
	}
	defer func() { s.Shutdown(); s.WaitForShutdown() }()

	sum := summary{Machine: describeMachine(), NATSServer: server.VERSION,
		Messages: o.n, Inflight: o.inflight, Concurrency: o.concurrency}
	if o.pace > 0 {
		// The paced phases alone, at a fixed rate.
		sum.Hub.MsgsPerSec, sum.Hub.Name = 2*o.pace, "not run (-pace)"
	} else if sum.Raw, err = rawPhase(ctx, s.ClientURL(), o, "raw jetstream", o.n, 0); err != nil {
		return fmt.Errorf("raw phase: %w", err)
	}
	if o.pace <= 0 {
		stopProfile, err := startProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		sum.Hub, err = hubPhase(ctx, s.ClientURL(), o, "hub round trip", o.n, 0)
		stopProfile()
		if err != nil {
			return fmt.Errorf("hub phase: %w", err)
		}
		if err := writeHeapProfile(o.memProfile); err != nil {
			return err
		}
	}
	if sum.Raw.MsgsPerSec > 0 {
		sum.HubRawRatio = sum.Hub.MsgsPerSec / sum.Raw.MsgsPerSec
	}
	if o.halfRateFor > 0 && sum.Hub.MsgsPerSec > 0 && !sum.Hub.TimedOut {
		rate := sum.Hub.MsgsPerSec / 2
		n := max(100, int(rate*o.halfRateFor.Seconds()))
		var stopProfile = func() {}
		if o.pace > 0 {
			if stopProfile, err = startProfile(o.cpuProfile); err != nil {
				return err
			}
		}
		stopTrace, err := startTrace(o.trace)
		if err != nil {
			return err
		}
		half, err := hubPhase(ctx, s.ClientURL(), o, "hub at half peak", n, rate)
		stopTrace()
		stopProfile()
		if err != nil {
			return fmt.Errorf("half-rate phase: %w", err)
		}
		sum.HalfRate, sum.HalfRateTarget = &half, rate
		rawHalf, err := rawPhase(ctx, s.ClientURL(), o, "raw at the same pace", n, rate)
		if err != nil {
			return fmt.Errorf("raw half-rate phase: %w", err)
		}
		sum.RawHalfRate = &rawHalf
	}
	sum.Load = loadAvg()
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return printText(w, sum)
}

// startServer runs nats-server with JetStream on a random loopback port and a
// file store in dir, as production stores streams on file.
func startServer(dir string) (*server.Server, error) {
	s, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server not ready")
	}
	return s, nil
}

// startProfile starts a CPU profile to path, if any; the returned func stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeHeapProfile writes the heap profile (allocations since the start) to
// path, if any.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}

// startTrace starts an execution trace to path, if any; the returned func
// stops it.
func startTrace(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("trace: %w", err)
	}
	return func() { trace.Stop(); f.Close() }, nil
}
