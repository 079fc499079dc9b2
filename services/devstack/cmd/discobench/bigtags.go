package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/testsvc"
)

// bigRepo is the repository of the very-large-repository phase.
const bigRepo = "team/many-tags"

// childResult is what a child process of the very-large-repository phase
// measured of its one cold listing.
type childResult struct {
	Tags int `json:"tags"`
	// Millis is the listing's wall time (every page, to the end).
	Millis float64 `json:"millis"`
	// BaseRSSKiB is the resident set once started, before the listing;
	// PeakRSSKiB the highest resident set during the listing (VmHWM, reset
	// after the baseline).
	BaseRSSKiB int64 `json:"baseRssKiB"`
	PeakRSSKiB int64 `json:"peakRssKiB"`
	// AllocBytes is the heap allocated during the listing; RetainedBytes
	// the live heap it left behind (the hub's cached result) after a GC.
	AllocBytes    uint64 `json:"allocBytes"`
	RetainedBytes int64  `json:"retainedBytes"`
}

// bigTags pushes o.bigTags tags of one manifest into one repository, then
// runs the hub's cold discovery of all of them and go-containerregistry's
// remote.List (`crane ls`) each in a child process of its own, so each
// peak resident set is its own.
func bigTags(ctx context.Context, tb *benchTB, o options, w io.Writer) error {
	reg := testsvc.StartRegistry(tb, testsvc.RegistryOptions{})
	tags := make([]string, o.bigTags)
	for i := range tags {
		tags[i] = fmt.Sprintf("1.%d.%d", i/1000, i%1000)
	}
	fmt.Fprintf(os.Stderr, "discobench: tagging one manifest %d times ...\n", len(tags))
	start := time.Now()
	reg.PushTagged(tb, bigRepo, tags)
	push := time.Since(start)
	crane, err := runChild(ctx, "crane", reg.URL, len(tags))
	if err != nil {
		return err
	}
	paged, err := runChild(ctx, "crane-paged", reg.URL, len(tags))
	if err != nil {
		return err
	}
	hub, err := runChild(ctx, "hub", reg.URL, len(tags))
	if err != nil {
		return err
	}
	hubRedis, err := runChild(ctx, "hub-redis", reg.URL, len(tags))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\ncold listing of %d tags of one repository (pushed in %s), each in a fresh process\n", len(tags), push.Round(time.Millisecond))
	fmt.Fprintln(tw, "  client\tms\tpeak RSS MiB\tRSS before MiB\theap allocated MiB\theap kept MiB\tkept B/tag\t")
	for _, r := range []struct {
		name string
		res  childResult
	}{{"go-containerregistry remote.List (crane ls: one answer)", crane},
		{"go-containerregistry remote.List, pages of 1000 (as the hub asks)", paged}, {"hub: POST /discover?refresh=true, pages of 1000 to the end", hub},
		{"hub with the Redis cache (chunks in Redis), same calls", hubRedis}} {
		fmt.Fprintf(tw, "  %s\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t\n", r.name, r.res.Millis, kib(r.res.PeakRSSKiB), kib(r.res.BaseRSSKiB),
			float64(r.res.AllocBytes)/(1<<20), float64(r.res.RetainedBytes)/(1<<20), float64(r.res.RetainedBytes)/float64(len(tags)))
	}
	for _, r := range []struct {
		name string
		res  childResult
	}{{"crane ls", crane}, {"crane, pages of 1000", paged}} {
		fmt.Fprintf(tw, "  ratio hub / %s\ttime %.2f\tpeak RSS %.2f\tpeak RSS above start %.2f\t\n", r.name, hub.Millis/r.res.Millis,
			float64(hub.PeakRSSKiB)/float64(r.res.PeakRSSKiB),
			float64(hub.PeakRSSKiB-hub.BaseRSSKiB)/float64(max(r.res.PeakRSSKiB-r.res.BaseRSSKiB, 1)))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(tw, "load average at the end\t%s", load)
	return tw.Flush()
}

func kib(n int64) float64 { return float64(n) / 1024 }

// runChild runs this command as `-child kind` and reads its result line.
func runChild(ctx context.Context, kind, registryURL string, want int) (childResult, error) {
	var res childResult
	cmd := exec.CommandContext(ctx, os.Args[0], "-child", kind, "-registry", registryURL, "-big-tags", strconv.Itoa(want))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("child %s: %w", kind, err)
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if line := sc.Bytes(); bytes.HasPrefix(line, []byte("{")) {
			return res, json.Unmarshal(line, &res)
		}
	}
	return res, fmt.Errorf("child %s printed no result", kind)
}

// child is the body of a child process: set up, take the baseline, list
// every tag cold, measure.
func child(ctx context.Context, tb *benchTB, o options) error {
	var list func(context.Context) (int, error)
	switch o.child {
	case "crane", "crane-paged":
		repo, err := name.NewRepository(strings.TrimPrefix(o.registry, "http://")+"/"+bigRepo, name.Insecure)
		if err != nil {
			return err
		}
		opts := []remote.Option{}
		if o.child == "crane-paged" {
			opts = append(opts, remote.WithPageSize(1000))
		}
		list = func(ctx context.Context) (int, error) {
			tags, err := remote.List(repo, append(opts, remote.WithContext(ctx))...)
			return len(tags), err
		}
	case "hub", "hub-redis":
		redisURL := ""
		if o.child == "hub-redis" {
			// The discovery cache in Redis: the hub streams the result's
			// chunks there and keeps none of them.
			redisURL = testsvc.StartRedis(tb).URL
		}
		h, err := startHub(ctx, tb, redisURL)
		if err != nil {
			return err
		}
		defer h.Stop()
		id, err := h.createRegistryConfig(map[string]any{"url": o.registry, "repository": bigRepo})
		if err != nil {
			return err
		}
		list = func(ctx context.Context) (int, error) { return h.allTags(ctx, id) }
	default:
		return fmt.Errorf("unknown child %q", o.child)
	}
	runtime.GC()
	debug.FreeOSMemory()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	base := procStatus("VmRSS")
	// 5 resets VmHWM to the current resident set (Linux 4.0+).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the peak resident set: %w", err)
	}
	start := time.Now()
	n, err := list(ctx)
	took := time.Since(start)
	if err != nil {
		return err
	}
	if n != o.bigTags {
		return fmt.Errorf("%s listed %d tags, want %d", o.child, n, o.bigTags)
	}
	peak := procStatus("VmHWM")
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	return json.NewEncoder(os.Stdout).Encode(childResult{Tags: n, Millis: ms(took), BaseRSSKiB: base, PeakRSSKiB: peak,
		AllocBytes: alloc, RetainedBytes: int64(after.HeapAlloc) - int64(before.HeapAlloc)})
}

// allTags pages through the hub's cold discovery of every tag.
func (h *hub) allTags(ctx context.Context, id string) (int, error) {
	path := "/api/v1/integrations/" + id + "/discover"
	req := contracts.DiscoveryRequest{ResourceType: "tags", Limit: 1000}
	n := 0
	for first := true; ; first = false {
		p := path
		if first {
			p += "?refresh=true"
		}
		var res contracts.DiscoveryResult
		if err := h.call(ctx, http.MethodPost, p, req, &res); err != nil {
			return n, err
		}
		if first && res.CacheHit {
			return n, fmt.Errorf("the first page was a cache hit")
		}
		n += len(res.Items)
		if res.NextCursor == "" {
			return n, nil
		}
		req.Cursor = res.NextCursor
	}
}

// procStatus reads one KiB figure of /proc/self/status (0 if absent).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
