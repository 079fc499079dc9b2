// Command discobench is the discovery part of `make bench`. Against a real
// Docker Registry (Debian's docker-registry on loopback) holding 200
// repositories of 3 tags each, it measures:
//
//   - cold discovery of every repository through the hub (HTTP ingress ->
//     bus -> discovery-worker -> registry -> cache -> bus -> HTTP, with
//     refresh=true so each call lists the registry) against listing the same
//     registry directly with go-containerregistry, and their ratio;
//   - cache-hit latency through the ingress at 50 concurrent clients, with
//     the in-process cache of `make run` and with Redis, closed loop and
//     paced at 100 req/s in all, the paced p99 beside its floor (the same
//     clients and pace against a bare net/http server answering the same
//     bytes, every hub stopped);
//   - a very large repository (20,000 tags of one manifest): time, peak
//     resident set and heap of the hub's cold discovery of every tag, paged
//     to the end, against go-containerregistry's remote.List (`crane ls`),
//     each in a child process of its own.
//
// It lives beside devstack because it runs the whole hub in one process, as
// `make run` does; services themselves never import each other.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/devstack/internal/benchkit"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// options are the command-line settings.
type options struct {
	repos, tags  int
	coldRuns     int
	clients      int
	hitsDuration time.Duration
	// pacedDuration is the length of a paced phase and of its floor.
	pacedDuration time.Duration
	clientRate    float64
	noRedis       bool
	cpuProfile    string
	coldProfile   string
	// the very-large-repository phase
	bigTags  int
	onlyBig  bool
	child    string
	registry string
}

func main() {
	var o options
	flag.IntVar(&o.repos, "repos", 200, "repositories in the registry")
	flag.IntVar(&o.tags, "tags", 3, "tags per repository")
	flag.IntVar(&o.coldRuns, "cold-runs", 30, "cold discoveries (and direct listings) measured")
	flag.IntVar(&o.clients, "clients", 50, "concurrent clients of the cache-hit phase")
	flag.DurationVar(&o.hitsDuration, "hits-duration", 8*time.Second, "length of each closed-loop cache-hit phase")
	flag.DurationVar(&o.pacedDuration, "paced-duration", 20*time.Second, "length of each paced cache-hit phase and of its floor (2,000 requests at 100 req/s)")
	flag.Float64Var(&o.clientRate, "client-rate", 2, "requests per second of each client in the paced cache-hit phases")
	flag.BoolVar(&o.noRedis, "no-redis", false, "skip the Redis cache-hit phase")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the in-process cache-hit phase to this file")
	flag.StringVar(&o.coldProfile, "cold-cpuprofile", "", "write a CPU profile of the cold-discovery phase to this file (go-containerregistry's listings, interleaved with the hub's, are in it too)")
	flag.IntVar(&o.bigTags, "big-tags", 20000, "tags of the one repository of the very-large-repository phase (0 skips it)")
	flag.BoolVar(&o.onlyBig, "only-big-tags", false, "run the very-large-repository phase only")
	flag.StringVar(&o.child, "child", "", "internal: run one listing of the very-large-repository phase (hub or crane)")
	flag.StringVar(&o.registry, "registry", "", "internal: the registry of -child")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tb := &benchTB{}
	err := tb.run(func() error {
		switch {
		case o.child != "":
			return child(ctx, tb, o)
		case o.onlyBig:
			return bigTags(ctx, tb, o, os.Stdout)
		}
		if err := run(ctx, tb, o, os.Stdout); err != nil {
			return err
		}
		if o.bigTags > 0 {
			return bigTags(ctx, tb, o, os.Stdout)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "discobench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, tb *benchTB, o options, w io.Writer) error {
	reg := testsvc.StartRegistry(tb, testsvc.RegistryOptions{})
	repos := make([]string, o.repos)
	for i := range repos {
		repos[i] = fmt.Sprintf("team/service-%03d", i)
	}
	tags := make([]string, o.tags)
	for i := range tags {
		tags[i] = fmt.Sprintf("v1.%d.0", i)
	}
	fmt.Fprintf(os.Stderr, "discobench: pushing %d repositories x %d tags ...\n", o.repos, o.tags)
	reg.PushAll(tb, repos, tags...)

	hub, err := startHub(ctx, tb, "")
	if err != nil {
		return err
	}
	id, err := hub.createRegistry(reg.URL)
	if err != nil {
		return err
	}
	cold, err := coldPhase(ctx, hub, id, reg.URL, o)
	if err != nil {
		return err
	}
	stopProfile, err := benchkit.StartProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	hits, err := hub.hitPhases(ctx, id, "in-process", o)
	stopProfile()
	if err != nil {
		return err
	}
	hub.Stop()
	if !o.noRedis {
		redis := testsvc.StartRedis(tb)
		rhub, err := startHub(ctx, tb, redis.URL)
		if err != nil {
			return err
		}
		rid, err := rhub.createRegistry(reg.URL)
		if err != nil {
			return err
		}
		more, err := rhub.hitPhases(ctx, rid, "redis", o)
		if err != nil {
			return err
		}
		hits = append(hits, more...)
		rhub.Stop()
	}
	fl, err := floor(ctx, hits[1], o)
	if err != nil {
		return err
	}
	return report(w, o, cold, hits, fl)
}

// coldTimes are the cold phase's listings: go-containerregistry's, with a
// new and with a reused client, and the hub's.
type coldTimes struct {
	fresh, reused, hub []time.Duration
}

// coldPhase lists the registry o.coldRuns+1 times each way, the three
// interleaved (one of each per round, in rotating order) so that they meet
// the registry in the same state: its own listing time drifts over a run
// by more than the gap the goal is about. go-containerregistry lists once
// per round with a fresh remote.Catalog (ping, then the catalog) and with
// one Puller reused across rounds (its ping cached), the fastest client
// there is; the hub with refresh=true. The first round warms the
// registry's own caches and is not counted.
func coldPhase(ctx context.Context, h *hub, id, registryURL string, o options) (coldTimes, error) {
	var out coldTimes
	reg, err := name.NewRegistry(strings.TrimPrefix(registryURL, "http://"), name.Insecure)
	if err != nil {
		return out, err
	}
	puller, err := remote.NewPuller(remote.WithPageSize(1000))
	if err != nil {
		return out, err
	}
	stop, err := benchkit.StartProfile(o.coldProfile)
	if err != nil {
		return out, err
	}
	defer stop()
	catalog := func(list func() ([]string, error)) (time.Duration, error) {
		start := time.Now()
		names, err := list()
		d := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("go-containerregistry catalog: %w", err)
		}
		if len(names) != o.repos {
			return 0, fmt.Errorf("go-containerregistry listed %d repositories, want %d", len(names), o.repos)
		}
		return d, nil
	}
	listings := []func() (time.Duration, error){
		func() (time.Duration, error) {
			return catalog(func() ([]string, error) { return remote.Catalog(ctx, reg, remote.WithPageSize(1000)) })
		},
		func() (time.Duration, error) {
			return catalog(func() ([]string, error) { return puller.Catalog(ctx, reg) })
		},
		func() (time.Duration, error) { return h.coldOne(ctx, id, o) },
	}
	for i := 0; i < o.coldRuns+1; i++ {
		var took [3]time.Duration
		// Each round starts with the next of the three, so none always
		// follows the same one.
		for k := range listings {
			j := (i + k) % len(listings)
			d, err := listings[j]()
			if err != nil {
				return out, err
			}
			took[j] = d
		}
		if i > 0 {
			out.fresh, out.reused, out.hub = append(out.fresh, took[0]), append(out.reused, took[1]), append(out.hub, took[2])
		}
	}
	return out, nil
}

// hitPhases runs the closed-loop and the paced cache-hit phases.
func (h *hub) hitPhases(ctx context.Context, id, name string, o options) ([]hitPhase, error) {
	closed, err := h.hits(ctx, id, name, 0, o)
	if err != nil {
		return nil, err
	}
	paced, err := h.hits(ctx, id, name, time.Duration(float64(time.Second)/o.clientRate), o)
	if err != nil {
		return nil, err
	}
	return []hitPhase{closed, paced}, nil
}

// hub is a running devstack and an HTTP client for it.
type hub struct{ *benchkit.Hub }

func startHub(ctx context.Context, tb *benchTB, redisURL string) (*hub, error) {
	h, err := benchkit.StartHub(ctx, devstack.Config{
		DataDir: tb.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler),
		Policy: httpx.GuardPolicy{AllowPrivate: true}, RedisURL: redisURL,
	}, 30*time.Second)
	if err != nil {
		return nil, err
	}
	return &hub{h}, nil
}

// runtimeInfo says where the figures were taken.
func runtimeInfo() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(w io.Writer, o options, cold coldTimes, hits []hitPhase, fl hitPhase) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "machine\t%s\n", runtimeInfo())
	fmt.Fprintf(tw, "registry\tdocker-registry (Debian) on loopback, %d repositories x %d tags\n", o.repos, o.tags)
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "cold discovery of %d repositories (median of %d, the three interleaved)\tms\t\n", o.repos, o.coldRuns)
	dFresh, dReused, hubCold := percentile(cold.fresh, 50), percentile(cold.reused, 50), percentile(cold.hub, 50)
	fmt.Fprintf(tw, "  go-containerregistry remote.Catalog, new client each time\t%.2f\t\n", ms(dFresh))
	fmt.Fprintf(tw, "  go-containerregistry Puller.Catalog, client reused\t%.2f\t\n", ms(dReused))
	fmt.Fprintf(tw, "  hub: POST /discover?refresh=true through ingress, bus, worker, to the answer's last byte\t%.2f\t(p99 %.2f)\n", ms(hubCold), ms(percentile(cold.hub, 99)))
	fmt.Fprintf(tw, "  ratio hub / direct (new client)\t%.2f\t\n", float64(hubCold)/float64(dFresh))
	fmt.Fprintf(tw, "  ratio hub / direct (reused client)\t%.2f\t\n", float64(hubCold)/float64(dReused))
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "cache hits through the ingress, %d concurrent clients, %s per closed-loop phase, %s per paced one, 100 of %d repositories per answer\n", o.clients, o.hitsDuration, o.pacedDuration, o.repos)
	fmt.Fprintln(tw, "  cache\tclients ask\trequests\treq/s\tp50 ms\tp99 ms\tmax ms\t")
	for _, h := range append(slices.Clone(hits), fl) {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t\n", h.name, h.mode, len(h.latencies), h.perSecond,
			ms(percentile(h.latencies, 50)), ms(percentile(h.latencies, 99)), ms(percentile(h.latencies, 100)))
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "goals (README: Benchmarks, Discovery)\tmeasured\tgoal\tratio to goal\t\n")
	fmt.Fprintf(tw, "  cold: hub / reused go-containerregistry client\t%.2f\t<= 1.1\t%.2f\t\n", float64(hubCold)/float64(dReused), float64(hubCold)/float64(dReused)/1.1)
	for _, h := range hits {
		if h.mode == "closed loop" {
			fmt.Fprintf(tw, "  %s cache hits, closed loop, req/s\t%.0f\t>= 5,000\t%.2f\t\n", h.name, h.perSecond, h.perSecond/5000)
		} else {
			p99 := ms(percentile(h.latencies, 99))
			fmt.Fprintf(tw, "  %s cache hits at %.0f req/s in all, p99 ms\t%.2f\t< 2\t%.2f\t(floor's p99 %.2f ms: hub / floor %.2f)\n", h.name, h.perSecond, p99, p99/2,
				ms(percentile(fl.latencies, 99)), float64(percentile(h.latencies, 99))/float64(percentile(fl.latencies, 99)))
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(tw, "load average at the end\t%s", load)
	return tw.Flush()
}
