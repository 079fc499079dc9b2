package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
)

// machine says where the figures were taken.
type machine struct {
	CPUs     int    `json:"cpus"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	CPUModel string `json:"cpuModel"`
	Go       string `json:"go"`
}

func describeMachine() machine {
	return machine{
		CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUModel: cpuModel(), Go: runtime.Version(),
	}
}

// cpuModel reads the first "model name" of /proc/cpuinfo; "unknown" elsewhere.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown"
}

func printText(w io.Writer, s summary) error {
	m := s.Machine
	inflight := fmt.Sprint(s.Inflight)
	if s.Inflight == 0 {
		inflight = "unbounded"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "machine\t%s/%s, %d CPUs, %s, %s\n", m.OS, m.Arch, m.CPUs, m.CPUModel, m.Go)
	fmt.Fprintf(tw, "nats-server\t%s embedded, JetStream file store, loopback\n", s.NATSServer)
	fmt.Fprintf(tw, "load\t%d messages per phase, in flight %s, hub handler concurrency %d\n", s.Messages, inflight, s.Concurrency)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "phase\tmsgs\tseconds\tmsgs/s\tp50 ms\tp99 ms\tmax ms\tCPU µs/msg\t")
	for _, p := range []phaseResult{s.Raw, s.Hub} {
		name := p.Name
		if p.TimedOut {
			name += " (timed out)"
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.2f\t%.0f\t%.2f\t%.2f\t%.2f\t%.0f\t\n",
			name, p.Received, s.Messages, p.Seconds, p.MsgsPerSec, p.P50Ms, p.P99Ms, p.MaxMs, p.CPUPerMsgUs)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "hub/raw throughput ratio\t%.3f\n", s.HubRawRatio)
	fmt.Fprintln(tw, "raw jetstream\tjs.PublishAsync -> durable pull consumer, explicit Ack per message; latency publish -> consume")
	fmt.Fprintln(tw, "hub round trip\tbus.Publisher.PublishAsync command -> bus.Router handler publishes event -> ordered consumer; latency command publish -> event receipt")
	return tw.Flush()
}
