package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
)

// flow is one kind of work the load drives.
type flow string

// The flows: creates and list reads through the ingress, the three
// commands on the bus, and the runs the run scenarios add: pipelines
// triggered and followed by the pipeline-runner, analyses measured by the
// metrics-analyzer, each of which must complete exactly once with its
// verdict.
const (
	flowCreate    flow = "create"
	flowRead      flow = "list"
	flowTest      flow = "test"
	flowDiscovery flow = "discovery"
	flowNotify    flow = "notify"
	flowPipeline  flow = "pipeline"
	flowAnalysis  flow = "analysis"
)

// flows in table order.
var flows = []flow{flowCreate, flowRead, flowTest, flowDiscovery, flowNotify, flowPipeline, flowAnalysis}

// runFlow reports whether f is a run: it lasts seconds by itself, and a
// duplicate completion (or a second run at the provider) counts as loss.
func runFlow(f flow) bool { return f == flowPipeline || f == flowAnalysis }

// opRecord is one logical operation: a create (however many attempts) or
// one command (however many publishes).
type opRecord struct {
	flow flow
	// id is the create's unique name or the command's request id.
	id   string
	sent time.Time
	// accepted is when the ingress answered 201 or the stream acked the
	// command; zero if the client gave up.
	accepted time.Time
	// attempts counts the tries (HTTP requests or publishes).
	attempts int
	// failure is the last error when the client gave up.
	failure string
	// want is a run's verdict (pipeline and analysis flows).
	want string
}

// readSample is one list call of the ingress.
type readSample struct {
	at time.Time
	ok bool
}

// recorder keeps every operation of a run.
type recorder struct {
	mu    sync.Mutex
	ops   []*opRecord
	reads []readSample
}

func (r *recorder) begin(f flow, id string) *opRecord {
	op := &opRecord{flow: f, id: id, sent: time.Now()}
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
	return op
}

func (r *recorder) finish(op *opRecord, attempts int, accepted time.Time, failure string) {
	r.mu.Lock()
	op.attempts, op.accepted, op.failure = attempts, accepted, failure
	r.mu.Unlock()
}

func (r *recorder) read(at time.Time, ok bool) {
	r.mu.Lock()
	r.reads = append(r.reads, readSample{at: at, ok: ok})
	r.mu.Unlock()
}

// snapshot copies the records.
func (r *recorder) snapshot() ([]opRecord, []readSample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := make([]opRecord, len(r.ops))
	for i, op := range r.ops {
		ops[i] = *op
	}
	return ops, append([]readSample(nil), r.reads...)
}

// maxInFlight bounds the operations running at once; past it the generators
// wait, so a stalled hub slows the load instead of piling up goroutines.
const maxInFlight = 512

// client drives the hub as its users do: HTTP through the ingress with a
// token, commands on the bus with request ids.
type client struct {
	api, token, tenant string
	http               *http.Client
	pub                *bus.Publisher
	rec                *recorder
	// opTimeout is how long one operation is retried before the client
	// gives up (and the audit counts it lost).
	opTimeout time.Duration
	run       string
	targets   []string // inmemory integrations the commands go to
	hook      string   // the webhook integration notifications go to
	ci        string   // the gitlab-ci integration pipelines run on
	metrics   string   // the prometheus integration analyses query
	sem       chan struct{}
	wg        sync.WaitGroup
	// end is when the generators stop (Unix nanoseconds); a fault can
	// push it back so the load outlasts every restart.
	end atomic.Int64
}

func newClient(api, token, tenant, run string, pub *bus.Publisher, opTimeout time.Duration) *client {
	return &client{
		api: api, token: token, tenant: tenant, run: run, pub: pub, rec: &recorder{}, opTimeout: opTimeout,
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}},
		sem:  make(chan struct{}, maxInFlight),
	}
}

// rates are the operations per second of each flow.
type rates struct {
	creates, commands float64
	readEvery         time.Duration
	// runs are the pipelines and the analyses per second (each) of the
	// run scenarios; 0 elsewhere.
	runs float64
}

// extend makes the load last at least until t.
func (c *client) extend(t time.Time) {
	for {
		cur := c.end.Load()
		if t.UnixNano() <= cur || c.end.CompareAndSwap(cur, t.UnixNano()) {
			return
		}
	}
}

// running reports whether the generators should go on.
func (c *client) running() bool { return time.Now().UnixNano() < c.end.Load() }

// drive runs the load for d (or longer, see extend), then waits for the
// operations still retrying (each bounded by opTimeout).
func (c *client) drive(ctx context.Context, d time.Duration, r rates) {
	c.extend(time.Now().Add(d))
	var gens sync.WaitGroup
	pace := func(perSecond float64, op func(i int)) {
		if perSecond <= 0 {
			return
		}
		gens.Add(1)
		go func() {
			defer gens.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
			defer tick.Stop()
			for i := 0; c.running(); i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				select {
				case c.sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				c.wg.Add(1)
				go func() {
					defer func() { <-c.sem; c.wg.Done() }()
					op(i)
				}()
			}
		}()
	}
	pace(r.creates, func(i int) { c.create(ctx, i) })
	pace(r.commands, func(i int) { c.command(ctx, flowTest, i) })
	pace(r.commands, func(i int) { c.command(ctx, flowDiscovery, i) })
	pace(r.commands, func(i int) { c.command(ctx, flowNotify, i) })
	pace(float64(time.Second)/float64(r.readEvery), func(int) { c.list(ctx) })
	pace(r.runs, func(i int) { c.command(ctx, flowPipeline, i) })
	pace(r.runs, func(i int) { c.command(ctx, flowAnalysis, i) })
	gens.Wait()
	c.wg.Wait()
}

// create posts one integration, retrying what a client retries (no answer,
// 5xx, 429) with backoff until opTimeout, with one Idempotency-Key for all
// its attempts, as the README tells clients to: a retry after a lost answer
// must not store a second copy (the audit counts those as duplicates).
func (c *client) create(ctx context.Context, i int) {
	name := fmt.Sprintf("chaos-%s-%05d", c.run, i)
	key := name
	op := c.rec.begin(flowCreate, name)
	in := contracts.IntegrationInput{TypeID: "inmemory", Name: name, Config: map[string]any{}, Labels: map[string]string{"chaos": "load"}}
	attempts, failure, ok := 0, "", false
	c.retry(ctx, op.sent, func() (bool, bool) {
		attempts++
		status, _, err := c.postWithKey(ctx, "/integrations", in, key)
		switch {
		case status == http.StatusCreated:
			c.rec.finish(op, attempts, time.Now(), "")
			ok = true
			return true, false
		case err != nil:
			failure = err.Error()
			return false, true
		default:
			failure = fmt.Sprintf("HTTP %d", status)
			return false, status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
		}
	})
	if !ok {
		c.rec.finish(op, attempts, time.Time{}, failure)
	}
}

// command publishes one command of f with a fresh request id, retrying the
// publish until the stream acks it (the Nats-Msg-Id is the request id, so a
// retry after a lost ack is stored once).
func (c *client) command(ctx context.Context, f flow, i int) {
	id := uuid.NewString()
	op := c.rec.begin(f, id)
	op.want = wantOf(f, i)
	ev := c.commandEvent(f, i, id)
	attempts, failure, ok := 0, "", false
	c.retry(ctx, op.sent, func() (bool, bool) {
		attempts++
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := c.pub.Publish(pctx, ev); err != nil {
			failure = err.Error()
			return false, true
		}
		c.rec.finish(op, attempts, time.Now(), "")
		ok = true
		return true, false
	})
	if !ok {
		c.rec.finish(op, attempts, time.Time{}, failure)
	}
}

// commandEvent is the i-th command of f, with request id id: tests and
// discoveries go to the targets in turn, notifications to the webhook.
func (c *client) commandEvent(f flow, i int, id string) bus.Event {
	target := c.targets[i%len(c.targets)]
	var prefix string
	var data any
	switch f {
	case flowTest:
		prefix, data = contracts.SubjectTestRequested, contracts.TestRequested{RequestID: id, TenantID: c.tenant, IntegrationID: target}
	case flowDiscovery:
		prefix, data = contracts.SubjectDiscoveryRequested, contracts.DiscoveryRequested{
			RequestID: id, TenantID: c.tenant, IntegrationID: target,
			// Every other discovery bypasses the cache, so both paths run.
			Request: contracts.DiscoveryRequest{ResourceType: "repositories", Limit: 100, Refresh: i%2 == 0},
		}
	case flowPipeline:
		// Every fourth pipeline fails; the request id is the idempotency
		// key and a pipeline variable, so the CI target counts the
		// pipelines each trigger created.
		target, prefix = c.ci, contracts.SubjectPipelineTrigger
		project := ciProjectOK
		if wantOf(f, i) == string(contracts.RunFailed) {
			project = ciProjectBroken
		}
		data = contracts.PipelineTriggerRequested{RequestID: id, TenantID: c.tenant, IntegrationID: target, Pipeline: project, Ref: "main",
			Parameters: map[string]string{ciRequestVar: id}, IdempotencyKey: id}
	case flowAnalysis:
		// The run id is the request id; every fourth analysis measures a
		// ratio below its success condition and fails.
		query := "chaos_ok"
		if wantOf(f, i) == contracts.AnalysisFailed {
			query = "chaos_bad"
		}
		return bus.Event{ID: "analysis-request:" + id, Subject: contracts.Subject(contracts.SubjectAnalysisRequested, c.tenant, id),
			TenantID: c.tenant, DataSubject: id, Data: contracts.AnalysisRunRequested{RunID: id, TenantID: c.tenant,
				Metrics: []contracts.AnalysisMetric{{Name: "ratio", IntegrationID: c.metrics, Query: query,
					SuccessCondition: "result[0] >= 0.95", Interval: analysisInterval.String(), Count: analysisCount}}}}
	case flowNotify:
		target = c.hook
		prefix, data = contracts.SubjectNotificationRequest, contracts.NotificationSendRequested{
			RequestID: id, TenantID: c.tenant, IntegrationID: target,
			// A channel of its own per request modulo 64: the notifier's
			// per-channel limit (1/s, burst 3) is not what this measures.
			Channel:  fmt.Sprintf("chaos-%02d", i%64),
			Severity: "info", Title: "chaos " + id, Body: "chaos notification",
			Data: map[string]any{requestKey: id},
		}
	}
	return bus.Event{ID: id, Subject: contracts.Subject(prefix, c.tenant, target), TenantID: c.tenant, DataSubject: target, Data: data}
}

// The analyses: analysisCount measurements analysisInterval apart.
const (
	analysisCount    = 4
	analysisInterval = time.Second
)

// wantOf is the verdict the i-th run of f must complete with.
func wantOf(f flow, i int) string {
	switch {
	case f == flowPipeline && i%4 == 3:
		return string(contracts.RunFailed)
	case f == flowPipeline:
		return string(contracts.RunSucceeded)
	case f == flowAnalysis && i%4 == 3:
		return contracts.AnalysisFailed
	case f == flowAnalysis:
		return contracts.AnalysisSuccessful
	}
	return ""
}

// setupRuns creates the integrations the runs go to: gitlab-ci on the CI
// target (its credential a local secret reference) and prometheus on the
// metrics target.
func (c *client) setupRuns(ctx context.Context, ciURL, metricsURL string) error {
	id, err := c.mustCreate(ctx, contracts.IntegrationInput{TypeID: "gitlab-ci", Name: "chaos-ci", Labels: map[string]string{"chaos": "target"},
		CredentialRef: "env://" + ciSecretEnv, Config: map[string]any{"url": ciURL, "projectId": ciProjectOK}})
	if err != nil {
		return err
	}
	c.ci = id
	c.metrics, err = c.mustCreate(ctx, contracts.IntegrationInput{TypeID: "prometheus", Name: "chaos-metrics",
		Labels: map[string]string{"chaos": "target"}, Config: map[string]any{"url": metricsURL}})
	return err
}

// list reads the first page of the catalog once.
func (c *client) list(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+"/integrations?limit=1", nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	ok := err == nil && resp.StatusCode == http.StatusOK
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	c.rec.read(time.Now(), ok)
}

// retry calls attempt until it succeeds, says not to retry, or opTimeout
// has passed since start; the wait between attempts grows to 2 s.
func (c *client) retry(ctx context.Context, start time.Time, attempt func() (done, again bool)) {
	wait := 200 * time.Millisecond
	for range 10000 {
		done, again := attempt()
		if done || !again || time.Since(start) > c.opTimeout {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// post sends body as JSON and decodes a created integration's id.
func (c *client) post(ctx context.Context, path string, body any) (int, string, error) {
	return c.postWithKey(ctx, path, body, "")
}

// postWithKey is post with an Idempotency-Key header (none when key is "").
func (c *client) postWithKey(ctx context.Context, path string, body any, key string) (int, string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+path, bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var it contracts.Integration
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = json.Unmarshal(raw, &it)
	return resp.StatusCode, it.ID, nil
}

// setup creates the integrations the commands use: targets inmemory
// integrations whose checks and discoveries take latency (so a killed
// worker has work in flight), and one webhook to the receiver.
func (c *client) setup(ctx context.Context, targets int, latency time.Duration, hookURL string) error {
	repos := make([]any, 20)
	for i := range repos {
		repos[i] = fmt.Sprintf("team/app-%02d", i)
	}
	for i := range targets {
		in := contracts.IntegrationInput{TypeID: "inmemory", Name: fmt.Sprintf("chaos-target-%d", i), Labels: map[string]string{"chaos": "target"},
			Config: map[string]any{"latencyMs": latency.Milliseconds(), "repositories": repos, "tags": []any{"v1", "v2"}}}
		id, err := c.mustCreate(ctx, in)
		if err != nil {
			return err
		}
		c.targets = append(c.targets, id)
	}
	id, err := c.mustCreate(ctx, contracts.IntegrationInput{TypeID: "webhook", Name: "chaos-receiver",
		Config: map[string]any{"url": hookURL}, Labels: map[string]string{"chaos": "target"}})
	c.hook = id
	return err
}

// mustCreate creates in or says why not.
func (c *client) mustCreate(ctx context.Context, in contracts.IntegrationInput) (string, error) {
	status, id, err := c.post(ctx, "/integrations", in)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", in.Name, err)
	}
	if status != http.StatusCreated || id == "" {
		return "", fmt.Errorf("create %s: HTTP %d", in.Name, status)
	}
	return id, nil
}
