package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// t0 is the start of every test timeline.
var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func rowOf(t *testing.T, rep auditReport, f flow) flowResult {
	t.Helper()
	for _, r := range rep.rows {
		if r.flow == f {
			return r
		}
	}
	t.Fatalf("no row for %s", f)
	return flowResult{}
}

func TestAuditCreates(t *testing.T) {
	t.Parallel()
	f := fault{target: "manager", cycles: []cycle{{at: at(10), back: at(15)}}}
	tests := []struct {
		name    string
		in      auditInput
		want    flowResult
		lost    bool
		problem string
	}{
		{
			name: "every create answered, stored once, with one event",
			in: auditInput{
				ops:     []opRecord{{flow: flowCreate, id: "a", sent: at(1), accepted: at(1.1)}, {flow: flowCreate, id: "b", sent: at(16), accepted: at(16.2)}},
				stored:  map[string]string{"id-a": "a", "id-b": "b"},
				created: map[string][]time.Time{"id-a": {at(1.1)}, "id-b": {at(16.2)}},
				fault:   f,
			},
			want: flowResult{sent: 2, done: 2, recovery: 1200 * time.Millisecond, inFlight: 0, stuck: 0, maxLatency: 200 * time.Millisecond},
		},
		{
			name: "stored without its event: the manager died between the write and the publish",
			in: auditInput{
				ops:     []opRecord{{flow: flowCreate, id: "a", sent: at(9.9), accepted: at(15.5)}},
				stored:  map[string]string{"id-a1": "a", "id-a2": "a"},
				created: map[string][]time.Time{"id-a2": {at(15.5)}},
				fault:   f,
			},
			want: flowResult{sent: 1, done: 1, dups: 1, noEvent: 1, recovery: 500 * time.Millisecond,
				inFlight: 5500 * time.Millisecond, stuck: 500 * time.Millisecond, maxLatency: 5600 * time.Millisecond},
			lost: true, problem: "1 stored integrations without exactly one integration.created",
		},
		{
			name: "two events for one integration is not exactly one",
			in: auditInput{
				ops:     []opRecord{{flow: flowCreate, id: "a", sent: at(1), accepted: at(1.1)}},
				stored:  map[string]string{"id-a": "a"},
				created: map[string][]time.Time{"id-a": {at(1.1), at(1.2)}},
			},
			want: flowResult{sent: 1, done: 1, noEvent: 1, recovery: notApplicable, inFlight: notApplicable, stuck: notApplicable, maxLatency: 100 * time.Millisecond},
			lost: true,
		},
		{
			name: "a create the client gave up on is lost",
			in: auditInput{
				ops:   []opRecord{{flow: flowCreate, id: "a", sent: at(11), failure: "HTTP 503"}},
				fault: f,
			},
			want: flowResult{sent: 1, lost: 1, recovery: never, inFlight: 0, stuck: 0},
			lost: true, problem: "1 create lost (e.g. a (HTTP 503))",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := audit(tc.in)
			got := rowOf(t, rep, flowCreate)
			tc.want.flow = flowCreate
			if got.sent != tc.want.sent || got.done != tc.want.done || got.lost != tc.want.lost || got.dups != tc.want.dups ||
				got.noEvent != tc.want.noEvent || got.recovery != tc.want.recovery || got.inFlight != tc.want.inFlight ||
				got.stuck != tc.want.stuck || got.maxLatency != tc.want.maxLatency {
				t.Errorf("row = %+v\nwant  %+v", got, tc.want)
			}
			problems, lost := verdict(rep, tc.in.fault, goals{recovery: 5 * time.Second, elsewhere: 10 * time.Second})
			if lost != tc.lost {
				t.Errorf("lost = %v, want %v (problems %q)", lost, tc.lost, problems)
			}
			if tc.problem != "" && !strings.Contains(strings.Join(problems, "; "), tc.problem) {
				t.Errorf("problems %q do not say %q", problems, tc.problem)
			}
		})
	}
}

func TestAuditCommands(t *testing.T) {
	t.Parallel()
	kill := fault{target: "health-scheduler-1", flow: flowTest, cycles: []cycle{{at: at(10), back: at(15)}}}
	g := goals{recovery: 5 * time.Second, elsewhere: 10 * time.Second}
	tests := []struct {
		name    string
		flow    flow
		in      auditInput
		want    flowResult
		lost    bool
		problem string
		absent  string // a problem that must not be reported
	}{
		{
			name: "a test run twice is a duplicate; one redelivered after the ack wait misses the goal",
			flow: flowTest,
			in: auditInput{
				ops: []opRecord{
					{flow: flowTest, id: "r1", sent: at(9.5), accepted: at(9.5)},
					{flow: flowTest, id: "r2", sent: at(12), accepted: at(12)},
				},
				done:  map[string][]completion{"r1": {{at: at(70)}}, "r2": {{at: at(12.5)}, {at: at(12.6)}}},
				fault: kill,
			},
			want:    flowResult{sent: 2, done: 2, dups: 1, noEvent: -1, recovery: 55 * time.Second, inFlight: 60 * time.Second, stuck: 55 * time.Second, maxLatency: 60500 * time.Millisecond},
			problem: "test in flight at the kill completed 60.0s after it (goal 10s, elsewhere)",
		},
		{
			name: "a command never accepted and never completed is lost",
			flow: flowDiscovery,
			in: auditInput{
				ops:   []opRecord{{flow: flowDiscovery, id: "d1", sent: at(11), failure: "nats: no responders"}},
				fault: kill,
			},
			want: flowResult{sent: 1, lost: 1, noEvent: -1, recovery: never, inFlight: 0, stuck: 0},
			lost: true, problem: "1 discovery lost (e.g. d1 (never accepted: nats: no responders))",
		},
		{
			name: "a notification is done when delivered; zero deliveries is lost; two is a duplicate",
			flow: flowNotify,
			in: auditInput{
				ops: []opRecord{
					{flow: flowNotify, id: "n1", sent: at(1), accepted: at(1)},
					{flow: flowNotify, id: "n2", sent: at(2), accepted: at(2)},
					{flow: flowNotify, id: "n3", sent: at(3), accepted: at(3)},
				},
				deliveries: map[string]delivered{"n1": {times: []time.Time{at(1.1)}}, "n2": {times: []time.Time{at(2.1), at(2.2)}}},
				sent:       map[string]int{"n1": 1},
			},
			want: flowResult{sent: 3, done: 2, lost: 1, dups: 1, noEvent: 1, recovery: notApplicable, inFlight: notApplicable, stuck: notApplicable,
				maxLatency: 100 * time.Millisecond},
			lost: true, problem: "1 notifications delivered without notification.sent",
		},
		{
			name: "a pipeline completed twice, or started twice at the provider, is a duplicate and counts as loss",
			flow: flowPipeline,
			in: auditInput{
				ops: []opRecord{
					{flow: flowPipeline, id: "p1", sent: at(1), accepted: at(1), want: "succeeded"},
					{flow: flowPipeline, id: "p2", sent: at(2), accepted: at(2), want: "succeeded"},
					{flow: flowPipeline, id: "p3", sent: at(3), accepted: at(3), want: "failed"},
				},
				done: map[string][]completion{"p1": {{at: at(6), verdict: "succeeded"}},
					"p2": {{at: at(7), verdict: "succeeded"}, {at: at(7.5), verdict: "succeeded"}}, "p3": {{at: at(8), verdict: "failed"}}},
				providerRuns: map[string]int{"p1": 1, "p2": 1, "p3": 2},
			},
			want: flowResult{sent: 3, done: 3, dups: 2, noEvent: 0, recovery: notApplicable, inFlight: notApplicable, stuck: notApplicable,
				maxLatency: 5 * time.Second},
			lost: true, problem: "2 duplicate pipeline",
		},
		{
			name: "an analysis with another verdict is loss; one in flight at the kill is held to no goal",
			flow: flowAnalysis,
			in: auditInput{
				ops: []opRecord{
					{flow: flowAnalysis, id: "a1", sent: at(9), accepted: at(9), want: "successful"},
					{flow: flowAnalysis, id: "a2", sent: at(16), accepted: at(16), want: "successful"},
				},
				done:  map[string][]completion{"a1": {{at: at(40), verdict: "successful"}}, "a2": {{at: at(20), verdict: "failed"}}},
				fault: fault{target: "metrics-analyzer", cycles: []cycle{{at: at(10), back: at(15)}}},
			},
			want: flowResult{sent: 2, done: 2, noEvent: 1, recovery: 5 * time.Second, inFlight: 30 * time.Second, stuck: 25 * time.Second,
				maxLatency: 31 * time.Second},
			lost: true, problem: "1 analysis completions with another verdict than their target gives", absent: "in flight",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := audit(tc.in)
			got := rowOf(t, rep, tc.flow)
			want := tc.want
			want.flow = tc.flow
			if got.sent != want.sent || got.done != want.done || got.lost != want.lost || got.dups != want.dups ||
				got.noEvent != want.noEvent || got.recovery != want.recovery || got.inFlight != want.inFlight ||
				got.stuck != want.stuck || got.maxLatency != want.maxLatency {
				t.Errorf("row = %+v\nwant  %+v", got, want)
			}
			problems, lost := verdict(rep, tc.in.fault, g)
			if lost != tc.lost {
				t.Errorf("lost = %v, want %v (problems %q)", lost, tc.lost, problems)
			}
			if tc.problem != "" && !strings.Contains(strings.Join(problems, "; "), tc.problem) {
				t.Errorf("problems %q do not say %q", problems, tc.problem)
			}
			if tc.absent != "" && strings.Contains(strings.Join(problems, "; "), tc.absent) {
				t.Errorf("problems %q say %q", problems, tc.absent)
			}
		})
	}
}

func TestRecovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		successes []time.Time
		f         fault
		want      time.Duration
	}{
		{name: "no fault", successes: []time.Time{at(1)}, want: notApplicable},
		{name: "first success after the return", successes: []time.Time{at(1), at(16), at(17)},
			f: fault{cycles: []cycle{{at: at(10), back: at(15)}}}, want: time.Second},
		{name: "none after the return", successes: []time.Time{at(1)},
			f: fault{cycles: []cycle{{at: at(10), back: at(15)}}}, want: never},
		{name: "the slowest of several stops", successes: []time.Time{at(15.5), at(30)},
			f: fault{cycles: []cycle{{at: at(10), back: at(15)}, {at: at(20), back: at(25)}}}, want: 5 * time.Second},
		{name: "a stop never followed by a return does not count", successes: []time.Time{at(16)},
			f: fault{cycles: []cycle{{at: at(10), back: at(15)}, {at: at(20)}}}, want: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := recovery(tc.successes, tc.f); got != tc.want {
				t.Errorf("recovery = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReadsAreNeverLost(t *testing.T) {
	t.Parallel()
	f := fault{target: "nats", cycles: []cycle{{at: at(10), back: at(15)}}}
	rep := audit(auditInput{reads: []readSample{{at: at(1), ok: true}, {at: at(12)}, {at: at(38), ok: true}}, fault: f})
	r := rowOf(t, rep, flowRead)
	if r.sent != 3 || r.done != 2 || r.lost != 0 || r.recovery != 23*time.Second {
		t.Errorf("reads row = %+v", r)
	}
	problems, lost := verdict(rep, f, goals{recovery: 5 * time.Second, elsewhere: 10 * time.Second})
	if lost {
		t.Errorf("failed reads made the run lost: %q", problems)
	}
	if !strings.Contains(strings.Join(problems, "; "), "list resumed 23.0s after nats was back") {
		t.Errorf("problems %q do not name the slow list", problems)
	}
}

func TestVerdictTargetNeverBack(t *testing.T) {
	t.Parallel()
	f := fault{target: "manager", cycles: []cycle{{at: at(10)}}}
	problems, lost := verdict(audit(auditInput{fault: f}), f, goals{recovery: 5 * time.Second})
	if !lost || !strings.Contains(strings.Join(problems, "; "), "manager did not come back") {
		t.Errorf("lost = %v, problems %q", lost, problems)
	}
}

func TestWithStoreDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, conf, want, err string
	}{
		{name: "one store_dir", conf: "jetstream {\n  store_dir: /data\n  max_file_store: 1GB\n}\n",
			want: "jetstream {\n  store_dir: \"/tmp/x\"\n  max_file_store: 1GB\n}\n"},
		{name: "none", conf: "port: 4222\n", err: "found 0"},
		{name: "two", conf: "store_dir: /a\nstore_dir: /b\n", err: "found 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := withStoreDir(tc.conf, "/tmp/x")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestShippedNATSConfigs keeps deployments/nats usable by the tool: each
// file has the one store_dir it rewrites, and the cluster's three nodes
// have distinct names, the same cluster name and routes to all three.
func TestShippedNATSConfigs(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..", "..", "..", "deployments", "nats")
	files := []string{filepath.Join(root, "nats.conf")}
	for i := 1; i <= 3; i++ {
		files = append(files, filepath.Join(root, "cluster", "nats-"+string(rune('0'+i))+".conf"))
	}
	names := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			conf := string(b)
			if _, err := withStoreDir(conf, "/tmp/x"); err != nil {
				t.Error(err)
			}
			if !strings.Contains(f, "cluster") {
				return
			}
			for _, want := range []string{"name: inthub", "nats-route://nats-1:6222", "nats-route://nats-2:6222", "nats-route://nats-3:6222", "jetstream {"} {
				if !strings.Contains(conf, want) {
					t.Errorf("%s lacks %q", f, want)
				}
			}
			for _, line := range strings.Split(conf, "\n") {
				if name, ok := strings.CutPrefix(strings.TrimSpace(line), "server_name:"); ok {
					names[strings.TrimSpace(name)] = true
				}
			}
		})
	}
	if len(names) != 3 {
		t.Errorf("cluster server names %v: want three distinct", names)
	}
}

func TestPickScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		list string
		want int
		err  bool
	}{
		{list: "all", want: len(scenarios)},
		{list: "", want: len(scenarios)},
		{list: "kill-manager, restart-nats", want: 2},
		{list: "kill-everything", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.list, func(t *testing.T) {
			t.Parallel()
			got, err := pickScenarios(tc.list)
			if (err != nil) != tc.err || len(got) != tc.want {
				t.Errorf("pickScenarios(%q) = %d scenarios, %v", tc.list, len(got), err)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{name: "defaults", args: nil},
		{name: "kill after the load", args: []string{"-duration", "10s", "-kill-at", "9s"}, err: "leave no load"},
		{name: "bad signal", args: []string{"-signal", "HUP"}, err: "want KILL or TERM"},
		{name: "env without value", args: []string{"-env", "INTHUB_ACK_WAIT"}, err: "KEY=VALUE"},
		{name: "rate too high", args: []string{"-rate", "5000"}, err: "0 to 500"},
		{name: "unknown scenario", args: []string{"-scenarios", "nope"}, err: "no scenario"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parseFlags(tc.args)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

func TestLineWatch(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := make(chan struct{})
	w := &lineWatch{w: f, want: `"msg":"manager serving"`, seen: seen}
	// The ready line arrives in two writes.
	for _, chunk := range []string{`{"msg":"starting"}` + "\n" + `{"msg":"manager `, `serving"}` + "\n"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-seen:
	default:
		t.Fatal("the ready line split over two writes was not seen")
	}
}
