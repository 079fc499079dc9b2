// Command schedbench is the health-scheduler part of `make bench`. For each
// catalog size it starts one embedded nats-server (JetStream, file store,
// loopback only), loads that many integrations into the integrations bucket
// as the manager would, runs healthscheduler.Run at the default intervals and,
// after a warm-up that absorbs the start (every integration's first check
// creates its health record and announces unknown -> healthy), measures a
// window: checks per second, scheduling lag (slot due -> command published),
// check lag (slot due -> health.checked event) and CPU seconds per 1,000
// checks.
//
// With -endpoint registry the checks go to Debian's docker-registry, and
// -blackbox then measures the peer: after the hub's window, Debian's
// prometheus-blackbox-exporter probes the same registry's /v2/ at the
// checks/s the hub ran, for as long, and the two CPU figures per 1,000
// checks are printed with their ratio and the README's summary row.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	healthscheduler "github.com/stella-ops/inthub/services/health-scheduler"
)

// options are the command-line settings.
type options struct {
	sizes    []int
	duration time.Duration
	// warmup < 0 means one connectivity interval.
	warmup       time.Duration
	scale        float64
	workers      int
	endpoint     string
	tenants      int
	inflight     int
	setupTimeout time.Duration
	json         bool
	blackbox     bool
	cpuProfile   string
	pprofAddr    string
}

// Endpoints a check can call.
const (
	endpointInMemory = "inmemory"
	endpointHTTP     = "http"
	endpointRegistry = "registry"
)

func main() {
	var o options
	sizes := flag.String("n", "1000,10000,100000", "comma-separated numbers of integrations, one embedded server each")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "measured window per size")
	flag.DurationVar(&o.warmup, "warmup", -1, "time between ready and the window (default: one connectivity interval, so every integration has had its first check)")
	flag.Float64Var(&o.scale, "scale", 1, "divide the default intervals (1m/5m/15m) by this, for quick runs")
	flag.IntVar(&o.workers, "workers", 0, "healthscheduler Config.Workers (0 = the service's default)")
	flag.StringVar(&o.endpoint, "endpoint", endpointInMemory, "what checks call: inmemory (the test-only provider), http (docker-registry provider against an httptest server) or registry (docker-registry provider against Debian's docker-registry)")
	flag.BoolVar(&o.blackbox, "blackbox", false, "after each window, run Debian's prometheus-blackbox-exporter probing the same registry's /v2/ at the checks/s the hub ran, and compare CPU per 1,000 checks (needs -endpoint registry)")
	flag.IntVar(&o.tenants, "tenants", 100, "tenants the integrations are spread over")
	flag.IntVar(&o.inflight, "inflight", 4096, "KV puts in flight while loading")
	flag.DurationVar(&o.setupTimeout, "setup-timeout", 5*time.Minute, "time limit of loading and start-up per size")
	flag.BoolVar(&o.json, "json", false, "print a JSON summary instead of text")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each measured window to this file (suffixed with the size when several)")
	flag.StringVar(&o.pprofAddr, "pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060) while running")
	flag.Parse()
	var err error
	if o.sizes, err = parseSizes(*sizes); err != nil {
		fail(2, err)
	}
	switch {
	case o.duration <= 0 || o.scale <= 0 || o.tenants < 1 || o.inflight < 1 || o.setupTimeout <= 0 || o.workers < 0:
		fail(2, fmt.Errorf("-duration, -scale, -tenants, -inflight and -setup-timeout must be positive, -workers at least 0"))
	case o.endpoint != endpointInMemory && o.endpoint != endpointHTTP && o.endpoint != endpointRegistry:
		fail(2, fmt.Errorf("-endpoint must be %s, %s or %s", endpointInMemory, endpointHTTP, endpointRegistry))
	case o.blackbox && o.endpoint != endpointRegistry:
		fail(2, fmt.Errorf("-blackbox compares against a real registry: it needs -endpoint %s", endpointRegistry))
	}
	if o.warmup < 0 {
		o.warmup = o.intervals().Connectivity
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.pprofAddr != "" {
		stopPprof, err := servePprof(o.pprofAddr)
		if err != nil {
			fail(2, err)
		}
		defer stopPprof()
	}
	if err := run(ctx, o, os.Stdout); err != nil {
		fail(1, err)
	}
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "schedbench:", err)
	os.Exit(code)
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: %q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// intervals are the defaults, divided by -scale.
func (o options) intervals() healthscheduler.Intervals {
	d := healthscheduler.DefaultIntervals()
	div := func(v time.Duration) time.Duration { return time.Duration(float64(v) / o.scale) }
	return healthscheduler.Intervals{Connectivity: div(d.Connectivity), Authentication: div(d.Authentication), Functionality: div(d.Functionality)}
}

// summary is everything one run measured; it is also the -json output.
type summary struct {
	Machine    machine     `json:"machine"`
	NATSServer string      `json:"natsServer"`
	Intervals  [3]string   `json:"intervals"`
	Scale      float64     `json:"scale"`
	WarmupSec  float64     `json:"warmupSeconds"`
	WindowSec  float64     `json:"windowSeconds"`
	Endpoint   string      `json:"endpoint"`
	Results    []sizeStats `json:"results"`
}

func run(ctx context.Context, o options, w io.Writer) error {
	iv := o.intervals()
	sum := summary{
		Machine: describeMachine(), NATSServer: server.VERSION,
		Intervals: [3]string{iv.Connectivity.String(), iv.Authentication.String(), iv.Functionality.String()},
		Scale:     o.scale, WarmupSec: o.warmup.Seconds(), WindowSec: o.duration.Seconds(), Endpoint: o.endpoint,
	}
	if !o.json {
		if err := printHeader(w, sum, o); err != nil {
			return err
		}
	}
	for _, n := range o.sizes {
		st, err := benchSize(ctx, o, n, profilePath(o.cpuProfile, n, len(o.sizes) > 1))
		if err != nil {
			return fmt.Errorf("%d integrations: %w", n, err)
		}
		sum.Results = append(sum.Results, st)
		if !o.json {
			if err := printRow(w, st); err != nil {
				return err
			}
		}
	}
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return printFooter(w)
}

// profilePath names the CPU profile of size n: path itself for a single
// size, path with the size before its extension for several.
func profilePath(path string, n int, several bool) string {
	if path == "" || !several {
		return path
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%d%s", strings.TrimSuffix(path, ext), n, ext)
}

// servePprof serves net/http/pprof on addr, which must be a loopback
// address; the returned func stops it.
func servePprof(addr string) (func(), error) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-pprof %q: want a loopback address and port, e.g. 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
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
