package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/services/devstack/internal/benchkit"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/connectors/registry/inmemory"
	"github.com/stella-ops/inthub/shared/contracts"
)

// memResult is what the child reports, one JSON line.
type memResult struct {
	N          int     `json:"n"`
	IdleRSS    int64   `json:"idleRss"`
	RSS        int64   `json:"rss"`
	PeakRSS    int64   `json:"peakRss"`
	ViewBytes  float64 `json:"viewBytesPerIntegration"`
	HeapInuse  int64   `json:"heapInuse"`
	LoadSecond float64 `json:"loadSeconds"`
	Visible    float64 `json:"visibleSeconds"`
	// Samples are taken while the hub settles: whether its resident set
	// still grows when it is read, and how much of the first checks' work
	// is still queued then.
	Samples []memSample `json:"samples"`
}

// memSample is the hub's state some time after the last integration is
// served.
type memSample struct {
	After    time.Duration `json:"after"`
	RSS      int64         `json:"rss"`
	Heap     int64         `json:"heapInuse"`
	Queued   uint64        `json:"commandsQueued"`
	Recorded uint64        `json:"healthRecords"`
}

// memPhase runs the memory phase in a child process, so its resident set
// is the hub's alone, and prints its rows.
func memPhase(ctx context.Context, o options, tw *tabwriter.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, exe, "-child", "mem", "-mem-n", strconv.Itoa(o.memN), "-mem-settle", o.memSettle.String(),
		"-memprofile", o.memProfile, "-mem-cpuprofile", o.memCPUProfile)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("memory phase: %w", err)
	}
	var r memResult
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("memory phase answered %q: %w", out, err)
	}
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "memory, %d integrations at the default intervals (README: Benchmarks, Memory)\tvalue\tgoal\tratio to goal\t\n", r.N)
	fmt.Fprintf(tw, "  whole hub in one process: RSS after %s\t%.0f MiB\t< 600 MB\t%.2f\t\n", o.memSettle, mb(r.RSS), float64(r.RSS)/600e6)
	fmt.Fprintf(tw, "  whole hub: peak RSS (VmHWM)\t%.0f MiB\t\t\t\n", mb(r.PeakRSS))
	fmt.Fprintf(tw, "  whole hub: Go heap in use (services and the embedded nats-server)\t%.0f MiB\t\t\t\n", mb(r.HeapInuse))
	fmt.Fprintf(tw, "  whole hub: RSS above the idle hub (%.0f MiB), per integration\t%.0f bytes\t\t\t\n", mb(r.IdleRSS), float64(r.RSS-r.IdleRSS)/float64(r.N))
	fmt.Fprintf(tw, "  one catalog view (one per process; a service on its own keeps one), heap per integration\t%.0f bytes\t<= 4 KB\t%.2f\t\n", r.ViewBytes, r.ViewBytes/4096)
	fmt.Fprintf(tw, "  loading them into the bucket / until the ingress serves the last\t%.1f s / %.1f s\t\t\t\n", r.LoadSecond, r.Visible)
	if len(r.Samples) > 0 {
		var rss, queued []string
		for _, s := range r.Samples {
			rss = append(rss, fmt.Sprintf("%s %d", s.After, s.RSS>>20))
			queued = append(queued, fmt.Sprintf("%d", s.Queued))
		}
		fmt.Fprintf(tw, "  while settling: RSS in MiB after\t%s\t\t\t\n", strings.Join(rss, ", "))
		fmt.Fprintf(tw, "  while settling: check commands queued, then health records at the end\t%s; %d\t\t\t\n",
			strings.Join(queued, ", "), r.Samples[len(r.Samples)-1].Recorded)
	}
	return nil
}

// memChild starts the hub, puts o.memN integrations straight into its
// bucket (spread over 100 tenants), waits until the ingress serves the last
// one and o.memSettle more, and reports the resident set.
func memChild(ctx context.Context, o options, w io.Writer) error {
	dir, err := os.MkdirTemp("", "ingressbench-mem-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	h, err := startHub(ctx, dir, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer h.Stop()
	time.Sleep(3 * time.Second)
	var r memResult
	r.N = o.memN
	r.IdleRSS = procStatus("VmRSS")
	nc, err := nats.Connect(h.Info.NATSURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	start := time.Now()
	last, err := putIntegrations(ctx, nc, o.memN)
	if err != nil {
		return err
	}
	r.LoadSecond = time.Since(start).Seconds()
	for {
		err := h.call(ctx, http.MethodGet, "/api/v1/integrations/"+last.ID, nil, nil)
		if err == nil {
			break
		}
		if ctx.Err() != nil || time.Since(start) > 5*time.Minute {
			return fmt.Errorf("the last integration is not served: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.Visible = time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "ingressbench: %d integrations loaded in %.1fs, served after %.1fs; settling %s\n", o.memN, r.LoadSecond, r.Visible, o.memSettle)
	stopProfile, err := benchkit.StartProfile(o.memCPUProfile)
	if err != nil {
		return err
	}
	r.Samples, err = settle(ctx, nc, o.memSettle)
	stopProfile()
	if err != nil {
		return err
	}
	r.RSS, r.PeakRSS = procStatus("VmRSS"), procStatus("VmHWM")
	r.HeapInuse = heapInuse()
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			return err
		}
	}
	// One more catalog view of the same bucket: what the process pays for
	// it (its services share one), and each service that holds the catalog
	// in a process of its own. Measured in a process that holds nothing
	// else: here, the running hub's heap moves by more than the view holds
	// between two readings (a run read -212 bytes per integration).
	if r.ViewBytes, err = viewInChild(ctx, h.Info.NATSURL, o.memN); err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(r)
}

// viewInChild runs viewChild in a process of its own against the hub at url.
func viewInChild(ctx context.Context, url string, n int) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, exe, "-child", "view", "-nats-url", url, "-mem-n", strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("catalog view: %w", err)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		return 0, fmt.Errorf("catalog view answered %q: %w", out, err)
	}
	return v, nil
}

// viewChild prints viewCost for the hub at o.natsURL.
func viewChild(ctx context.Context, o options, w io.Writer) error {
	nc, err := nats.Connect(o.natsURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	v, err := viewCost(ctx, nc, o.memN)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%.1f\n", v)
	return err
}

// settle waits d, sampling the hub every tenth of it (at most every 10 s).
func settle(ctx context.Context, nc *nats.Conn, d time.Duration) ([]memSample, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	msgs := func(stream string) uint64 {
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return 0
		}
		return st.CachedInfo().State.Msgs
	}
	every := min(d/10, 10*time.Second)
	if every <= 0 {
		return nil, nil
	}
	var out []memSample
	start := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for time.Since(start) < d-every/2 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return out, ctx.Err()
		}
		s := memSample{After: time.Since(start).Round(time.Second), RSS: procStatus("VmRSS"), Heap: heapInuse(),
			Queued: msgs(bus.StreamCommands), Recorded: msgs("KV_" + catalog.BucketHealth)}
		fmt.Fprintf(os.Stderr, "ingressbench: after %s: RSS %d MiB, heap in use %d MiB, %d commands queued, %d health records\n",
			s.After, s.RSS>>20, s.Heap>>20, s.Queued, s.Recorded)
		out = append(out, s)
	}
	return out, nil
}

func heapInuse() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// putIntegrations writes n inmemory integrations into the bucket, as the
// manager stores them, and returns the last.
func putIntegrations(ctx context.Context, nc *nats.Conn, n int) (contracts.Integration, error) {
	var failed atomic.Int64
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(512),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		return contracts.Integration{}, err
	}
	tenants := make([]string, 100)
	for i := range tenants {
		tenants[i] = uuid.NewString()
	}
	// The last one is the dev token's, whose GET says it is served.
	tenants[(n-1)%len(tenants)] = devstack.DevTenantID
	now := time.Now().UTC().Truncate(time.Millisecond)
	var it contracts.Integration
	for i := range n {
		it = contracts.Integration{
			ID: uuid.Must(uuid.NewV7()).String(), TenantID: tenants[i%len(tenants)], TypeID: inmemory.Spec.ID, Name: fmt.Sprintf("bench-%d", i),
			Config: map[string]any{"failureMode": inmemory.FailNone}, Labels: map[string]string{"env": "bench"},
			CreatedAt: now, UpdatedAt: now,
		}
		// Version 1 is what the manager stores with a new integration; a
		// record without it is one something else wrote, and the manager's
		// outbox then reads the key's history to tell a create from an
		// update (an ordered consumer made and deleted per change).
		body, err := json.Marshal(struct {
			contracts.Integration
			Version uint64 `json:"version"`
		}{it, 1})
		if err != nil {
			return it, err
		}
		subject := "$KV." + catalog.BucketIntegrations + "." + it.TenantID + "." + it.ID
		for {
			_, err = js.PublishAsync(subject, body)
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return it, fmt.Errorf("put integration %d: %w", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return it, ctx.Err()
	}
	if f := failed.Load(); f > 0 {
		return it, fmt.Errorf("%d of %d puts failed", f, n)
	}
	return it, nil
}

// viewCost is the heap one more catalog view of the bucket holds, per
// integration.
func viewCost(ctx context.Context, nc *nats.Conn, n int) (float64, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	kv, err := js.KeyValue(ctx, catalog.BucketIntegrations)
	if err != nil {
		return 0, err
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	v := catalog.NewView()
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.Watch(wctx, kv) }()
	select {
	case <-v.Ready():
	case err := <-done:
		cancel()
		return 0, fmt.Errorf("view: %w", err)
	case <-time.After(5 * time.Minute):
		cancel()
		return 0, errors.New("the view did not replay the bucket")
	}
	if v.Len() < n {
		cancel()
		return 0, fmt.Errorf("the view holds %d of %d integrations", v.Len(), n)
	}
	after := heap()
	cancel()
	<-done
	runtime.KeepAlive(v)
	return float64(int64(after)-int64(before)) / float64(n), nil
}

// procStatus reads a size field of /proc/self/status in bytes (0 when it
// cannot).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}

// writeHeapProfile writes the heap profile (in use and allocated) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}
