package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
)

// scenario is one experiment: a fresh stack, the load, and one process
// stopped and started again while it runs.
type scenario struct {
	name, about string
	// cluster runs three nats-server nodes and INTHUB_STREAM_REPLICAS=3.
	cluster bool
	// target is the process stopped: a service replica ("manager",
	// "health-scheduler-1"), "nats", "redis", or "nats-leader" (the cluster
	// node leading INTHUB_COMMANDS); empty for none.
	target string
	signal syscall.Signal
	// midCreate stops the target the moment the manager writes a create to
	// its store, before the event and the answer, rather than at a random
	// time.
	midCreate bool
	// flow is the killed worker's, held to the "runs elsewhere" goal.
	flow flow
	// kills is how many times the target is stopped (default 1).
	kills int
	// restartServices restarts every service while the target is down, as
	// a deploy or a reboot during an outage does: they start without NATS.
	restartServices bool
	// runs adds pipelines (to a CI target of the tool's own, the gitlab-ci
	// API) and analyses (of a Prometheus API of the tool's own) to the
	// load: each must complete exactly once with its verdict.
	runs bool
}

// startAttempts bounds the starts of a stack whose port was taken.
const startAttempts = 3

// leaderTarget names the cluster node that leads INTHUB_COMMANDS.
const leaderTarget = "nats-leader"

// scenarios are every experiment, in the order `make chaos` runs them.
var scenarios = []scenario{
	{name: "baseline", about: "no fault: what the audit counts on a quiet run"},
	{name: "kill-ingress", target: "ingress", signal: syscall.SIGKILL, midCreate: true, kills: 3,
		about: "kill -9 the ingress the moment a create is stored, restart it; three times"},
	{name: "kill-manager", target: "manager", signal: syscall.SIGKILL, midCreate: true, kills: 3,
		about: "kill -9 the manager the moment a create is stored (before its event), restart it; three times"},
	{name: "kill-health-scheduler", target: "health-scheduler-1", signal: syscall.SIGKILL, flow: flowTest,
		about: "kill -9 one of two health-schedulers running tests, restart it"},
	{name: "kill-discovery-worker", target: "discovery-worker-1", signal: syscall.SIGKILL, flow: flowDiscovery,
		about: "kill -9 one of two discovery-workers, restart it"},
	{name: "kill-notifier", target: "notifier-1", signal: syscall.SIGKILL, flow: flowNotify,
		about: "kill -9 one of two notifiers, restart it"},
	{name: "kill-pipeline-runner", target: "pipeline-runner", signal: syscall.SIGKILL, runs: true,
		about: "kill -9 the pipeline-runner while it follows pipeline runs of a few seconds, restart it; each completes once"},
	{name: "kill-metrics-analyzer", target: "metrics-analyzer", signal: syscall.SIGKILL, runs: true,
		about: "kill -9 the metrics-analyzer in the middle of analysis runs, restart it; each completes once with its verdict"},
	{name: "restart-nats", target: "nats", signal: syscall.SIGKILL,
		about: "kill -9 nats-server, start it again on the same store"},
	{name: "nats-down-at-start", target: "nats", signal: syscall.SIGKILL, restartServices: true,
		about: "kill -9 nats-server and restart every service while it is down; start NATS again"},
	{name: "stop-redis", target: "redis", signal: syscall.SIGTERM,
		about: "stop Redis (the discovery cache, no persistence), start it again empty"},
	{name: "cluster-kill-node", cluster: true, target: leaderTarget, signal: syscall.SIGKILL,
		about: "three-node cluster, replicas 3: kill -9 the node leading INTHUB_COMMANDS, restart it"},
}

// pickScenarios resolves a comma-separated list ("all" for every one).
func pickScenarios(list string) ([]scenario, error) {
	if list == "" || list == "all" {
		return scenarios, nil
	}
	var out []scenario
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, s := range scenarios {
			if s.name == name {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("no scenario %q (-list shows them)", name)
		}
	}
	return out, nil
}

// result is one scenario's outcome.
type result struct {
	sc       scenario
	report   auditReport
	fault    fault
	problems []string
	lost     bool
	exits    map[string]int
	notes    []string
	load     [2]string // load average at the start and the end
	err      error
	dir      string
}

// runScenario runs sc in a fresh folder and audits it; every process it
// started is stopped before it returns.
func runScenario(ctx context.Context, o options, bins binaries, sc scenario) (res result) {
	res.sc, res.exits = sc, map[string]int{}
	res.load[0] = loadAverage()
	defer func() { res.load[1] = loadAverage() }()
	dir, err := os.MkdirTemp(o.workDir, "chaos-"+sc.name+"-")
	if err != nil {
		res.err = err
		return res
	}
	res.dir = dir
	var g *group
	var st *stack
	for attempt := 1; ; attempt++ {
		g = newGroup(ctx)
		defer g.stop()
		progress("%s: starting NATS, Redis and the services in %s", sc.name, dir)
		st, err = startStack(ctx, g, filepath.Join(dir, fmt.Sprint(attempt)), bins, stackOptions{repo: o.repo, cluster: sc.cluster, extra: o.env})
		if err == nil {
			break
		}
		// Another process may take a port between the pick and the bind.
		if attempt < startAttempts && strings.Contains(err.Error(), "address already in use") {
			g.stop()
			continue
		}
		res.err = fmt.Errorf("start: %w", err)
		return res
	}
	recv, err := startReceiver()
	if err != nil {
		res.err = err
		return res
	}
	defer recv.close()
	nc, err := nats.Connect(st.natsURL, nats.Name("chaos"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		res.err = err
		return res
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		res.err = err
		return res
	}
	c := newClient(st.api, st.token, st.tenant, sc.name, bus.NewPublisher(js, "inthub/chaos"), o.opTimeout)
	if err := c.setup(ctx, o.targets, o.latency, recv.url); err != nil {
		res.err = fmt.Errorf("setup: %w", err)
		return res
	}
	rates := o.rates
	rates.runs = 0
	var ci *ciTarget
	if sc.runs {
		rates.runs = o.runRate
		if ci, err = startCITarget(st.ciToken, o.runFor); err != nil {
			res.err = err
			return res
		}
		defer ci.close()
		metrics, err := startMetricsTarget()
		if err != nil {
			res.err = err
			return res
		}
		defer metrics.close()
		if err := c.setupRuns(ctx, ci.url, metrics.url); err != nil {
			res.err = fmt.Errorf("setup: %w", err)
			return res
		}
	}
	events := newEventLog(js)
	if err := warmUp(ctx, c, events, recv, sc.runs); err != nil {
		res.err = fmt.Errorf("warm-up: %w", err)
		return res
	}
	progress("%s: load for %s (%.0f creates/s, %.0f/s each of tests, discoveries, notifications, %.1f/s each of pipelines and analyses)",
		sc.name, o.duration, rates.creates, rates.commands, rates.runs)
	start := time.Now()
	faults := make(chan fault, 1)
	go func() { faults <- inject(ctx, g, st, c, js, sc, o, start) }()
	c.drive(ctx, o.duration, rates)
	res.fault = <-faults

	progress("%s: load done; waiting up to %s for every command to complete", sc.name, o.drain)
	deadline := time.Now().Add(o.drain)
	for ctx.Err() == nil {
		if err := events.poll(ctx); err == nil && pending(auditOf(c, events, recv, ci, nil, res.fault)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		sleep(ctx, time.Second)
	}
	if err := events.poll(ctx); err != nil {
		res.err = fmt.Errorf("audit: %w", err)
		return res
	}
	stored, err := storedIntegrations(ctx, js)
	if err != nil {
		res.err = fmt.Errorf("audit: %w", err)
		return res
	}
	res.report = auditOf(c, events, recv, ci, stored, res.fault)
	res.problems, res.lost = verdict(res.report, res.fault, o.goals)
	for _, p := range st.all() {
		if n := len(p.unplannedExits()); n > 0 {
			res.exits[p.name] = n
		}
	}
	if len(res.exits) > 0 {
		res.problems = append(res.problems, fmt.Sprintf("%d processes exited on their own (restarted after %s to %s, as an orchestrator would)", len(res.exits), restartDelay, maxRestartDelay))
	}
	res.notes = g.notes()
	return res
}

// auditOf audits what c, events, recv and ci (nil without runs) saw.
func auditOf(c *client, events *eventLog, recv *receiver, ci *ciTarget, stored map[string]string, f fault) auditReport {
	ops, reads := c.rec.snapshot()
	created, done, sent := events.snapshot()
	var providerRuns map[string]int
	if ci != nil {
		providerRuns = ci.pipelines()
	}
	return audit(auditInput{ops: ops, reads: reads, stored: stored, created: created, done: done, sent: sent,
		deliveries: recv.snapshot(), providerRuns: providerRuns, fault: f})
}

// pending counts commands still without their completion.
func pending(rep auditReport) int {
	n := 0
	for _, r := range rep.rows {
		switch r.flow {
		case flowTest, flowDiscovery, flowPipeline, flowAnalysis:
			n += r.lost
		case flowNotify:
			n += r.lost + max(0, r.noEvent)
		}
	}
	return n
}

// inject stops the scenario's target killAt into the load (at the next
// stored create, for midCreate), keeps it down for o.down and starts it
// again; back is when it is ready. It repeats that kills times, gap after
// each return, and keeps the load running 5 s past the last return.
func inject(ctx context.Context, g *group, st *stack, c *client, js jetstream.JetStream, sc scenario, o options, start time.Time) fault {
	if sc.target == "" {
		return fault{}
	}
	sleep(ctx, time.Until(start.Add(o.killAt)))
	name := sc.target
	if o.target != "" {
		name = o.target
	}
	if name == leaderTarget {
		name = leaderNode(ctx, js)
	}
	p := st.procs()[name]
	if p == nil {
		g.note("no process " + name)
		return fault{}
	}
	sig := sc.signal
	if o.signal != 0 {
		sig = o.signal
	}
	kills := sc.kills
	if o.kills > 0 {
		kills = o.kills
	}
	f := fault{target: name, flow: sc.flow}
	for i := range max(1, kills) {
		if ctx.Err() != nil {
			break
		}
		if i > 0 {
			sleep(ctx, o.gap)
		}
		if sc.midCreate {
			waitStoreWrite(ctx, js.Conn(), 10*time.Second)
		}
		c.extend(time.Now().Add(o.down + 10*time.Second))
		p.kill(sig)
		// The stop is when the process is gone: what it took until then
		// was in flight.
		cy := cycle{at: time.Now()}
		progress("%s: %s stopped (%s), down for %s", sc.name, name, signalName(sig), o.down)
		if sc.restartServices {
			go restartServices(ctx, st)
		}
		sleep(ctx, o.down)
		err := p.start(ctx)
		if err == nil {
			cy.back = time.Now()
			c.extend(cy.back.Add(5 * time.Second))
			progress("%s: %s back after %.1fs", sc.name, name, cy.back.Sub(cy.at).Seconds())
		}
		f.cycles = append(f.cycles, cy)
		if err != nil {
			g.note("restart of " + name + " failed: " + firstLine(err.Error()))
			break
		}
	}
	return f
}

// restartServices stops every service (SIGTERM) and starts it again without
// waiting: a service that cannot start exits, and the group restarts it as an
// orchestrator would, counting the exits.
func restartServices(ctx context.Context, st *stack) {
	var wg sync.WaitGroup
	for _, name := range services {
		for _, p := range st.svc[name] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.kill(syscall.SIGTERM)
				_ = p.start(ctx)
			}()
		}
	}
	wg.Wait()
}

// signalName is SIGKILL rather than "killed".
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// waitStoreWrite returns when the manager writes to the integrations
// bucket, or after timeout. It listens to the write itself ($KV.<bucket>.>
// on core NATS), which reaches it as the stream stores it: a kill sent then
// lands before the manager has its acknowledgement and publishes the event,
// the moment a crash loses the most.
func waitStoreWrite(ctx context.Context, nc *nats.Conn, timeout time.Duration) {
	sub, err := nc.SubscribeSync("$KV." + catalog.BucketIntegrations + ".>")
	if err != nil {
		return
	}
	defer func() { _ = sub.Unsubscribe() }()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, _ = sub.NextMsgWithContext(ctx)
}

// leaderNode is the process name of the cluster node leading
// INTHUB_COMMANDS ("inthub-nats-2" is nats-2); nats-1 when unknown.
func leaderNode(ctx context.Context, js jetstream.JetStream) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, bus.StreamCommands)
	if err != nil {
		return "nats-1"
	}
	info, err := s.Info(ctx)
	if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
		return "nats-1"
	}
	return strings.TrimPrefix(info.Cluster.Leader, "inthub-")
}

// warmUp sends one command of each kind (with runs, a pipeline and an
// analysis too) and waits for them: the stack works end to end before
// anything is killed.
func warmUp(ctx context.Context, c *client, events *eventLog, recv *receiver, runs bool) error {
	ids := map[flow]string{}
	kinds := []flow{flowTest, flowDiscovery, flowNotify}
	if runs {
		kinds = append(kinds, flowPipeline, flowAnalysis)
	}
	for _, f := range kinds {
		ids[f] = uuid.NewString()
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c.pub.Publish(pctx, c.commandEvent(f, 0, ids[f]))
		cancel()
		if err != nil {
			return err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if err := events.poll(ctx); err == nil {
			_, done, _ := events.snapshot()
			_, delivered := recv.snapshot()[ids[flowNotify]]
			if len(done[ids[flowTest]]) > 0 && len(done[ids[flowDiscovery]]) > 0 && delivered &&
				(!runs || (len(done[ids[flowPipeline]]) > 0 && len(done[ids[flowAnalysis]]) > 0)) {
				return nil
			}
		}
		sleep(ctx, 250*time.Millisecond)
	}
	return fmt.Errorf("the warm-up commands (%v) did not all complete within 60s of the start", kinds)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// loadAverage is the 1-minute load average, as uptime prints it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// progress tells the operator what the tool does (stderr; the table goes
// to stdout).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chaos: "+format+"\n", args...)
}
