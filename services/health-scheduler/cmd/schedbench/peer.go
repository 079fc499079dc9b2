package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stella-ops/inthub/shared/testsvc"
)

// peerStats is the blackbox_exporter window: the same target probed at the
// rate the hub checked it, for as long as the hub's window.
type peerStats struct {
	Name      string  `json:"name"`
	Version   string  `json:"version"`
	Target    string  `json:"target"`
	Rate      float64 `json:"ratePerSec"`
	WindowSec float64 `json:"windowSeconds"`
	Probes    int64   `json:"probes"`
	Failed    int64   `json:"failedProbes"`
	// CPUSec is the exporter process's utime+stime over the window
	// (/proc/<pid>/stat); the bench's own probe requests are not in it,
	// as Prometheus' scrapes would not be.
	CPUSec        float64 `json:"cpuSeconds"`
	CPUSecPer1000 float64 `json:"cpuSecondsPer1000Probes"`
	// HubPeerRatio is the hub's CPU per 1,000 checks divided by the
	// exporter's per 1,000 probes: below 1 the hub is cheaper.
	HubPeerRatio float64 `json:"hubPeerCpuRatio"`
}

// probeWorkers bound the probes in flight, as a Prometheus with that many
// targets due at once would.
const probeWorkers = 32

// runBlackbox starts Debian's prometheus-blackbox-exporter, warms it up
// for a few seconds, then asks it to probe target at rate per second for
// window, and measures its CPU.
func runBlackbox(ctx context.Context, target string, rate float64, window time.Duration) (peerStats, error) {
	ps := peerStats{Name: "prometheus-blackbox-exporter", Target: target, Rate: rate}
	if rate <= 0 {
		return ps, fmt.Errorf("no rate to probe at")
	}
	dir, err := os.MkdirTemp("", "schedbench-blackbox-")
	if err != nil {
		return ps, err
	}
	defer os.RemoveAll(dir)
	bb, err := testsvc.RunBlackbox(dir)
	if err != nil {
		return ps, err
	}
	defer func() {
		if err := bb.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "schedbench: stop blackbox exporter:", err)
		}
	}()
	ps.Version = testsvc.BlackboxVersion()
	probeURL := bb.URL + "/probe?" + url.Values{"module": {testsvc.BlackboxModule}, "target": {target}}.Encode()
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: probeWorkers, Proxy: nil}}
	defer client.CloseIdleConnections()
	if _, _, err := paceProbes(ctx, client, probeURL, rate, 3*time.Second); err != nil {
		return ps, fmt.Errorf("warm-up: %w", err)
	}
	cpu0, err := testsvc.ProcessCPU(bb.Pid())
	if err != nil {
		return ps, err
	}
	t0 := time.Now()
	ok, failed, err := paceProbes(ctx, client, probeURL, rate, window)
	if err != nil {
		return ps, err
	}
	cpu1, err := testsvc.ProcessCPU(bb.Pid())
	if err != nil {
		return ps, err
	}
	ps.WindowSec = time.Since(t0).Seconds()
	ps.Probes, ps.Failed, ps.CPUSec = ok+failed, failed, cpu1-cpu0
	if ps.Probes > 0 {
		ps.CPUSecPer1000 = ps.CPUSec / float64(ps.Probes) * 1000
	}
	return ps, nil
}

// paceProbes calls probeURL at rate per second (open loop, at most
// probeWorkers at once) for d, and counts the probes that succeeded
// (probe_success 1) and those that did not.
func paceProbes(ctx context.Context, client *http.Client, probeURL string, rate float64, d time.Duration) (ok, failed int64, err error) {
	var nOK, nFailed atomic.Int64
	jobs := make(chan struct{}, probeWorkers)
	var wg sync.WaitGroup
	for range probeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				if probeOnce(ctx, client, probeURL) {
					nOK.Add(1)
				} else {
					nFailed.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	n := int(rate * d.Seconds())
	for i := 0; i < n && ctx.Err() == nil; i++ {
		if wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
			time.Sleep(wait)
		}
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	return nOK.Load(), nFailed.Load(), ctx.Err()
}

// probeOnce asks the exporter for one probe and reports its probe_success.
func probeOnce(ctx context.Context, client *http.Client, probeURL string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, probeURL, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return err == nil && resp.StatusCode == http.StatusOK && strings.Contains(string(body), "\nprobe_success 1")
}
