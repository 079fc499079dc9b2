package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// machine says where the figures were taken.
type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPUModel   string `json:"cpuModel"`
	Go         string `json:"go"`
}

func describeMachine() machine {
	return machine{
		CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH,
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

// The table is printed a row at a time, as each size finishes, so its
// columns have fixed widths rather than a tabwriter's.
const (
	headFormat = "%12s %10s %9s %9s %9s %9s %9s %9s %9s %9s %15s %9s %6s %6s %8s %7s %6s %7s %6s\n"
	rowFormat  = "%12d %10.1f %9.1f %9.1f %9.2f %9.2f %9.2f %9.1f %9.1f %9.1f %15s %9.3f %6.0f %6s %8.1f %7.0f %6.1f %7.1f %6d\n"
)

func printHeader(w io.Writer, s summary, o options) error {
	m := s.Machine
	fmt.Fprintf(w, "machine       %s/%s, %d CPUs (GOMAXPROCS %d), %s, %s\n", m.OS, m.Arch, m.CPUs, m.GOMAXPROCS, m.CPUModel, m.Go)
	fmt.Fprintf(w, "nats-server   %s embedded in this process (one per size), JetStream file store, loopback\n", s.NATSServer)
	workers := "service default"
	if o.workers > 0 {
		workers = fmt.Sprint(o.workers)
	}
	fmt.Fprintf(w, "schedule      intervals %s/%s/%s (spec / %g), provider %s, workers %s, warm-up %s, window %s\n",
		s.Intervals[0], s.Intervals[1], s.Intervals[2], s.Scale, o.endpoint, workers, o.warmup, o.duration)
	fmt.Fprintln(w)
	fmt.Fprintf(w, headFormat, "", "", "", "", "sched lag", "", "", "check lag", "", "", "", "CPU s /", "CPU %", "", "alloc KB", "peak", "", "", "")
	_, err := fmt.Fprintf(w, headFormat, "integrations", "expected/s", "sched/s", "checks/s", "p50 ms", "p99 ms", "max ms",
		"p50 ms", "p99 ms", "max ms", "backlog", "1k checks", "ours", "others", "/check", "RSS MB", "load s", "start s", "failed")
	return err
}

func printRow(w io.Writer, st sizeStats) error {
	if st.Dropped > 0 {
		fmt.Fprintf(os.Stderr, "schedbench: %d integrations: the check-lag subscriptions dropped %d messages; its percentiles miss them\n", st.Integrations, st.Dropped)
	}
	cpuPct, others := 0.0, "?"
	if st.WindowSec > 0 {
		cpuPct = st.CPUSec / st.WindowSec * 100
		if st.OtherCPUSec >= 0 {
			others = fmt.Sprintf("%.0f", st.OtherCPUSec/st.WindowSec*100)
		}
	}
	_, err := fmt.Fprintf(w, rowFormat, st.Integrations, st.ExpectedPerSec, st.PublishedPerSec, st.ChecksPerSec,
		st.ScheduleLag.P50Ms, st.ScheduleLag.P99Ms, st.ScheduleLag.MaxMs,
		st.CheckLag.P50Ms, st.CheckLag.P99Ms, st.CheckLag.MaxMs,
		fmt.Sprintf("%d->%d", st.BacklogStart, st.BacklogEnd), st.CPUSecPer1000, cpuPct, others, st.AllocKBPerCheck, st.PeakRSSMB, st.LoadSec, st.StartSec, st.FailedChecks)
	if err != nil || st.Peer == nil {
		return err
	}
	return printPeer(w, st)
}

// printPeer prints the blackbox_exporter comparison of one size, and the
// health-check line of the README's "Benchmarks" summary table.
func printPeer(w io.Writer, st sizeStats) error {
	p := st.Peer
	fmt.Fprintf(w, "%12s %s (%s): %d probes of %s in %.1fs (%.1f/s, %d failed), %.2f CPU s, %.3f CPU s per 1,000 probes\n",
		"peer", p.Name, p.Version, p.Probes, p.Target, p.WindowSec, float64(p.Probes)/p.WindowSec, p.Failed, p.CPUSec, p.CPUSecPer1000)
	fmt.Fprintf(w, "%12s hub %.3f / blackbox %.3f CPU s per 1,000 checks = %.2f\n", "ratio", st.CPUSecPer1000, p.CPUSecPer1000, p.HubPeerRatio)
	_, err := fmt.Fprintf(w, "\nREADME row (Benchmarks, summary table; load average %s; %d integrations, %.0f checks/s):\n"+
		"| health check of a registry `/v2/`, CPU per 1,000 checks (hub incl. its embedded broker) | %.2f s | `prometheus-blackbox-exporter` probing the same registry: %.2f s | %.2f |\n\n",
		loadAvg(), st.Integrations, st.ChecksPerSec, st.CPUSecPer1000, p.CPUSecPer1000, p.HubPeerRatio)
	return err
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

func printFooter(w io.Writer) error {
	_, err := fmt.Fprint(w, `
expected/s  checks the default intervals ask for; sched/s: commands the schedule published; checks/s: checks run
sched lag   slot due -> check command handed to the bus (healthscheduler Config.OnPublished; every slot in the window)
check lag   slot due -> its health.checked event seen by the bench: queue + check + health record write
            (the checks of about 1,000 integrations, a sample of tenants)
backlog     check commands stored but not finished, at the window's start -> end (growth: the workers fall behind)
CPU         getrusage(RUSAGE_SELF) user+sys over the window: scheduler AND the embedded nats-server (same process)
            AND the bench's two lag subscriptions; CPU % is of one core; "others" is the rest of the machine
            (/proc/stat) in the same window: figures taken beside other load measure the neighbours too
alloc       heap allocated per check by the whole process (runtime.MemStats), unaffected by other load
`)
	return err
}
