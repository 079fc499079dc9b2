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

// loadAvg is the first three fields of /proc/loadavg, "unknown" elsewhere.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func printText(w io.Writer, s summary) error {
	m := s.Machine
	inflight := fmt.Sprint(s.Inflight)
	if s.Inflight == 0 {
		inflight = "unbounded"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "machine\t%s/%s, %d CPUs, %s, %s, load average %s\n", m.OS, m.Arch, m.CPUs, m.CPUModel, m.Go, s.Load)
	fmt.Fprintf(tw, "nats-server\t%s embedded, JetStream file store, loopback\n", s.NATSServer)
	fmt.Fprintf(tw, "load\t%d messages per phase, in flight %s, hub handler concurrency %d\n", s.Messages, inflight, s.Concurrency)
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "phase\tmsgs\tseconds\tmsgs/s\tp50 ms\tp99 ms\tmax ms\tCPU µs/msg\tallocs/msg\tKB/msg\t")
	phases := []phaseResult{s.Raw, s.Hub}
	if s.HalfRate != nil {
		phases = append(phases, *s.HalfRate)
	}
	if s.RawHalfRate != nil {
		phases = append(phases, *s.RawHalfRate)
	}
	for _, p := range phases {
		if p.Sent == 0 && p.Received == 0 {
			continue // not run (-pace)
		}
		name := p.Name
		if p.TimedOut {
			name += " (timed out)"
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%.2f\t%.0f\t%.2f\t%.2f\t%.2f\t%.0f\t%.0f\t%.1f\t\n",
			name, p.Received, p.Sent, p.Seconds, p.MsgsPerSec, p.P50Ms, p.P99Ms, p.MaxMs, p.CPUPerMsgUs, p.AllocsPerMsg, p.BytesPerMsg/1024)
	}
	fmt.Fprintln(tw)
	if s.Raw.MsgsPerSec > 0 {
		fmt.Fprintf(tw, "hub/raw throughput ratio\t%.3f\n", s.HubRawRatio)
	}
	fmt.Fprintln(tw, "raw jetstream\tjs.PublishAsync -> durable pull consumer, explicit Ack per message; latency publish -> consume")
	fmt.Fprintln(tw, "hub round trip\tbus.Publisher.PublishAsync command -> bus.Router handler publishes event -> ordered consumer; latency command publish -> event receipt")
	if s.HalfRate != nil {
		fmt.Fprintf(tw, "hub at half peak\tthe round trip paced open-loop at %.0f msgs/s (half the hub's peak, or -pace)\n", s.HalfRateTarget)
	}
	if s.RawHalfRate != nil {
		fmt.Fprintln(tw, "raw at the same pace\traw jetstream paced like the row above: the broker's and the machine's share of its latency")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.Raw.MsgsPerSec == 0 {
		return nil // -pace: no peak phases, no README row
	}
	return printReadmeRow(w, s)
}

// printReadmeRow prints the bus line of the README's "Benchmarks" summary
// table (hub, its peer on the same run, ratio), so a quiet-machine run of
// `make bench` regenerates it as is.
func printReadmeRow(w io.Writer, s summary) error {
	p99 := "n/a"
	if s.HalfRate != nil {
		p99 = fmt.Sprintf("%.1f ms at %.0f msg/s", s.HalfRate.P99Ms, s.HalfRateTarget)
	}
	_, err := fmt.Fprintf(w, "\nREADME row (Benchmarks, summary table; load average %s):\n"+
		"| command → handler → event round trip | %s msg/s, %.0f µs CPU/msg, p99 %s | raw JetStream publish → consume: %s msg/s, %.0f µs CPU/msg | %.2f |\n",
		s.Load, thousands(s.Hub.MsgsPerSec), s.Hub.CPUPerMsgUs, p99, thousands(s.Raw.MsgsPerSec), s.Raw.CPUPerMsgUs, s.HubRawRatio)
	return err
}

// thousands formats v rounded, with commas: 13165.4 -> "13,165".
func thousands(v float64) string {
	d := fmt.Sprintf("%.0f", v)
	for i := len(d) - 3; i > 0 && d[i-1] != '-'; i -= 3 {
		d = d[:i] + "," + d[i:]
	}
	return d
}
