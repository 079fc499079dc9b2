package devstack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/stella-ops/inthub/services/devstack"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/bus/ops"
	"github.com/stella-ops/inthub/shared/contracts"
)

// operatorEndpoints is every operator endpoint with a request that would
// succeed or fail on its own merits for an operator.
var operatorEndpoints = []struct {
	method, path string
	body         any
}{
	{"GET", "/api/v1/operator/events", nil},
	{"GET", "/api/v1/operator/events?subject=integration.health.changed.>&since=5m", nil},
	{"GET", "/api/v1/operator/events/stream", nil},
	{"POST", "/api/v1/operator/events/replay", map[string]any{"subject": "integration.health.changed.>", "since": "5m", "target": "inthub.replay.x"}},
	{"GET", "/api/v1/operator/dlq", nil},
	{"GET", "/api/v1/operator/dlq/1", nil},
	{"DELETE", "/api/v1/operator/dlq/1", nil},
	{"POST", "/api/v1/operator/dlq/1/redrive", nil},
	{"POST", "/api/v1/operator/dlq/purge", map[string]any{"all": true, "dryRun": true}},
	{"POST", "/api/v1/operator/dlq/purge", map[string]any{"subject": "integration.test.requested.>"}},
	{"PUT", "/api/v1/operator/dlq/1", nil}, // a wrong method is still forbidden first
}

func TestOperatorEndpointsNeedTheOperatorRole(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	for _, ep := range operatorEndpoints {
		t.Run(ep.method+" "+ep.path, func(t *testing.T) {
			r := s.call(ep.method, ep.path, tokenB, ep.body)
			if r.status != http.StatusForbidden || r.code() != "FORBIDDEN" {
				t.Fatalf("tenant token: %d %s", r.status, r.body)
			}
			if r := s.call(ep.method, ep.path, "", ep.body); r.status != http.StatusUnauthorized {
				t.Fatalf("no token: %d %s", r.status, r.body)
			}
		})
	}
	// The operator passes the role check on each of them.
	for _, ep := range operatorEndpoints {
		if ep.path == "/api/v1/operator/events/stream" {
			continue // endless; TestOperatorEventStream reads it
		}
		if r := s.call(ep.method, ep.path, s.info.Token, ep.body); r.status == http.StatusForbidden || r.status == http.StatusUnauthorized {
			t.Errorf("operator %s %s: %d %s", ep.method, ep.path, r.status, r.body)
		}
	}
}

// publisher publishes to the stack's bus as a test client.
func (s *stack) publisher() *bus.Publisher { return bus.NewPublisher(s.js, "inthub/test") }

// publishChanged publishes n integration.health.changed events of one
// integration of the dev tenant and returns their sequences.
func (s *stack) publishChanged(integration string, n int) []uint64 {
	s.t.Helper()
	var seqs []uint64
	for i := 0; i < n; i++ {
		ack, err := s.publisher().Publish(context.Background(), bus.Event{
			Subject:  contracts.Subject(contracts.SubjectHealthChanged, devstack.DevTenantID, integration),
			TenantID: devstack.DevTenantID, DataSubject: integration,
			Data: contracts.HealthChanged{TenantID: devstack.DevTenantID, IntegrationID: integration, TypeID: "inmemory", Name: "mem",
				Previous: "healthy", Current: "unhealthy", Reason: fmt.Sprint("change ", i), ChangedAt: time.Now().UTC()},
		})
		if err != nil {
			s.t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	return seqs
}

func eventSeqs(items []ops.Event) []uint64 {
	out := make([]uint64, len(items))
	for i, e := range items {
		out[i] = e.Sequence
	}
	return out
}

func TestReplayOfHealthChangedSinceATime(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	id := uuid.NewString()
	s.publishChanged(id, 3)
	time.Sleep(10 * time.Millisecond)
	since := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	later := s.publishChanged(id, 4)

	q := url.Values{"subject": {contracts.SubjectHealthChanged}, "tenantId": {devstack.DevTenantID}, "since": {since.Format(time.RFC3339Nano)}}
	r := s.call("GET", "/api/v1/operator/events?"+q.Encode(), tok, nil)
	var page ops.Page
	r.decode(&page)
	if r.status != 200 || !slices.Equal(eventSeqs(page.Items), later) || page.NextSeq != 0 {
		t.Fatalf("since %s: %d %s; want sequences %v", since.Format(time.RFC3339Nano), r.status, r.body, later)
	}
	for i, ev := range page.Items {
		var hc contracts.HealthChanged
		if err := json.Unmarshal(ev.Data, &hc); err != nil || hc.IntegrationID != id || hc.Reason != fmt.Sprint("change ", i) || !ev.Time.After(since) {
			t.Errorf("event %d: %+v (%v)", i, ev, err)
		}
	}

	// Paged: one event at a time, following nextSeq.
	q.Set("limit", "1")
	var paged []uint64
	for n := 0; n < 10; n++ {
		var p ops.Page
		s.call("GET", "/api/v1/operator/events?"+q.Encode(), tok, nil).decode(&p)
		paged = append(paged, eventSeqs(p.Items)...)
		if p.NextSeq == 0 {
			break
		}
		q.Del("since")
		q.Set("fromSeq", fmt.Sprint(p.NextSeq))
	}
	if !slices.Equal(paged, later) {
		t.Fatalf("paged %v, want %v", paged, later)
	}

	// Republished to a replay subject: the same events, copied once.
	body := map[string]any{"subject": contracts.SubjectHealthChanged + ".>", "tenantId": devstack.DevTenantID, "since": since.Format(time.RFC3339Nano), "target": "inthub.replay.e2e"}
	r = s.call("POST", "/api/v1/operator/events/replay", tok, body)
	var res ops.ReplayResult
	r.decode(&res)
	if r.status != 200 || res.Count != len(later) || res.Duplicates != 0 {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	r = s.call("GET", "/api/v1/operator/events?subject=inthub.replay.e2e.>&fromSeq=1", tok, nil)
	var copies ops.Page
	r.decode(&copies)
	if r.status != 200 || len(copies.Items) != len(later) {
		t.Fatalf("copies: %d %s", r.status, r.body)
	}
	for i, c := range copies.Items {
		if c.Headers[ops.HeaderReplayedFrom] != fmt.Sprintf("%s:%d", bus.StreamEvents, later[i]) || !strings.HasPrefix(c.Subject, "inthub.replay.e2e.integration.health.changed.") {
			t.Errorf("copy %d: %s %v", i, c.Subject, c.Headers)
		}
	}
}

// craftDeadLetter writes a dead letter of an integration.test.requested
// command into INTHUB_DLQ, as the health-scheduler's dead-letter middleware
// would have, with a valid body.
func (s *stack) craftDeadLetter(integrationID, requestID string) uint64 {
	s.t.Helper()
	subject := contracts.Subject(contracts.SubjectTestRequested, devstack.DevTenantID, integrationID)
	msg, err := s.publisher().Message(context.Background(), bus.Event{
		ID: "test-request:" + requestID, Subject: subject, TenantID: devstack.DevTenantID, DataSubject: integrationID,
		Data: contracts.TestRequested{RequestID: requestID, TenantID: devstack.DevTenantID, IntegrationID: integrationID},
	})
	if err != nil {
		s.t.Fatal(err)
	}
	msg.Subject = bus.DLQPrefix + "." + subject
	for k, v := range map[string]string{
		bus.HeaderDLQReason: "integration " + integrationID + " not in the catalog view yet", bus.HeaderDLQSubject: subject,
		bus.HeaderDLQStream: bus.StreamCommands, bus.HeaderDLQHandler: "integration-test", bus.HeaderDLQAttempts: "5",
		bus.HeaderDLQTime: time.Now().UTC().Format(time.RFC3339Nano),
	} {
		msg.Header.Set(k, v)
	}
	ack, err := s.js.PublishMsg(context.Background(), msg)
	if err != nil {
		s.t.Fatal(err)
	}
	return ack.Sequence
}

func TestRedrivenDeadLetterIsProcessedOnceAndLeavesTheDLQ(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	r := s.call("POST", "/api/v1/integrations", tok, map[string]any{"typeId": "inmemory", "name": "redrive target", "config": map[string]any{}})
	var it contracts.Integration
	r.decode(&it)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	requestID := uuid.NewString()
	seq := s.craftDeadLetter(it.ID, requestID)

	var dlq ops.DLQPage
	s.call("GET", "/api/v1/operator/dlq?subject="+url.QueryEscape(contracts.SubjectTestRequested+"."+devstack.DevTenantID+"."+it.ID), tok, nil).decode(&dlq)
	if len(dlq.Items) != 1 || dlq.Items[0].Sequence != seq || dlq.Items[0].Handler != "integration-test" || dlq.Items[0].Deliveries != 5 {
		t.Fatalf("listed %+v", dlq)
	}

	// Watch the completions of this integration from before the redrive.
	nc, err := nats.Connect(s.info.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	completions := 0
	sub, err := nc.Subscribe(contracts.Subject(contracts.SubjectTestCompleted, devstack.DevTenantID, it.ID), func(m *nats.Msg) {
		var done contracts.TestCompleted
		if json.Unmarshal(m.Data, &done) == nil && done.RequestID == requestID {
			mu.Lock()
			completions++
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	r = s.call("POST", fmt.Sprintf("/api/v1/operator/dlq/%d/redrive", seq), tok, nil)
	var red ops.Redriven
	r.decode(&red)
	if r.status != 200 || red.Stream != bus.StreamCommands || red.Subject != contracts.Subject(contracts.SubjectTestRequested, devstack.DevTenantID, it.ID) {
		t.Fatalf("redrive: %d %s", r.status, r.body)
	}
	if r := s.call("POST", fmt.Sprintf("/api/v1/operator/dlq/%d/redrive", seq), tok, nil); r.status != 404 || r.code() != "MESSAGE_NOT_FOUND" {
		t.Fatalf("second redrive: %d %s", r.status, r.body)
	}
	if r := s.call("GET", fmt.Sprintf("/api/v1/operator/dlq/%d", seq), tok, nil); r.status != 404 {
		t.Fatalf("the dead letter is still there: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := completions
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the redriven test was not completed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // long enough for a second handling to show
	mu.Lock()
	defer mu.Unlock()
	if completions != 1 {
		t.Fatalf("%d completions of the redriven test, want 1", completions)
	}
	var stored ops.Page
	s.call("GET", "/api/v1/operator/events?fromSeq=1&subject="+url.QueryEscape(contracts.Subject(contracts.SubjectTestCompleted, devstack.DevTenantID, it.ID)), tok, nil).decode(&stored)
	if len(stored.Items) != 1 {
		t.Fatalf("INTHUB_EVENTS holds %d completions, want 1", len(stored.Items))
	}
	s.call("GET", "/api/v1/operator/dlq", tok, nil).decode(&dlq)
	for _, d := range dlq.Items {
		if d.Sequence == seq {
			t.Fatal("the redriven dead letter is still listed")
		}
	}
}

func TestPoisonCommandIsListedShownAndPurged(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	id := uuid.NewString()
	subject := contracts.Subject(contracts.SubjectTestRequested, devstack.DevTenantID, id)
	other := contracts.Subject(contracts.SubjectTestRequested, devstack.DevTenantID, uuid.NewString())
	for _, sub := range []string{subject, other} {
		if _, err := s.js.Publish(context.Background(), sub, []byte("{not json")); err != nil {
			t.Fatal(err)
		}
	}
	var dlq ops.DLQPage
	deadline := time.Now().Add(20 * time.Second)
	for len(dlq.Items) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the poison command was not dead-lettered")
		}
		time.Sleep(50 * time.Millisecond)
		s.call("GET", "/api/v1/operator/dlq?tenantId="+devstack.DevTenantID, tok, nil).decode(&dlq)
	}
	d := dlq.Items[slices.IndexFunc(dlq.Items, func(d ops.DeadLetter) bool { return d.OriginalSubject == subject })]
	if d.OriginalSubject != subject || d.Handler != "integration-test" || !strings.Contains(d.Reason, "decode") || d.OriginalStream != bus.StreamCommands {
		t.Fatalf("listed %+v", d)
	}
	var detail ops.DeadLetterDetail
	r := s.call("GET", fmt.Sprintf("/api/v1/operator/dlq/%d", d.Sequence), tok, nil)
	r.decode(&detail)
	if r.status != 200 || detail.DataText != "{not json" || detail.Headers[bus.HeaderDLQSubject] != subject {
		t.Fatalf("show: %d %s", r.status, r.body)
	}
	// The filter is honoured: a dry run counts, the purge removes that dead
	// letter and leaves the other one.
	r = s.call("POST", "/api/v1/operator/dlq/purge", tok, map[string]any{"subject": subject, "dryRun": true})
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"purged":0,"matching":1}` {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	r = s.call("POST", "/api/v1/operator/dlq/purge", tok, map[string]any{"subject": subject})
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"purged":1,"matching":1}` {
		t.Fatalf("purge: %d %s", r.status, r.body)
	}
	if r := s.call("GET", fmt.Sprintf("/api/v1/operator/dlq/%d", d.Sequence), tok, nil); r.status != 404 {
		t.Fatalf("after purge: %d %s", r.status, r.body)
	}
	s.call("GET", "/api/v1/operator/dlq?tenantId="+devstack.DevTenantID, tok, nil).decode(&dlq)
	if len(dlq.Items) != 1 || dlq.Items[0].OriginalSubject != other {
		t.Fatalf("the purge of one subject removed others: %+v", dlq.Items)
	}
	// Everything only with all, alone.
	r = s.call("POST", "/api/v1/operator/dlq/purge", tok, map[string]any{"all": true})
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"purged":1,"matching":1}` {
		t.Fatalf("purge all: %d %s", r.status, r.body)
	}
}

func TestOperatorParametersAreValidated(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"since is not a time", "GET", "/api/v1/operator/events?since=yesterday", nil, 400, "INVALID_QUERY"},
		{"unknown subject", "GET", "/api/v1/operator/events?subject=secrets.%3E", nil, 400, "INVALID_QUERY"},
		{"command subject", "GET", "/api/v1/operator/events?subject=integration.test.requested.%3E", nil, 400, "INVALID_QUERY"},
		{"partial wildcard", "GET", "/api/v1/operator/events?subject=integration.health.chan*", nil, 400, "INVALID_QUERY"},
		{"limit too big", "GET", "/api/v1/operator/events?limit=1001", nil, 400, "INVALID_QUERY"},
		{"limit zero", "GET", "/api/v1/operator/events?limit=0", nil, 400, "INVALID_QUERY"},
		{"fromSeq not a number", "GET", "/api/v1/operator/events?fromSeq=x", nil, 400, "INVALID_QUERY"},
		{"since and fromSeq", "GET", "/api/v1/operator/events?since=5m&fromSeq=3", nil, 400, "INVALID_QUERY"},
		{"toSeq before fromSeq", "GET", "/api/v1/operator/events?fromSeq=5&toSeq=3", nil, 400, "INVALID_QUERY"},
		{"unknown parameter", "GET", "/api/v1/operator/events?sinse=5m", nil, 400, "INVALID_QUERY"},
		{"repeated parameter", "GET", "/api/v1/operator/events?subject=a&subject=b", nil, 400, "INVALID_QUERY"},
		{"tenant not a token", "GET", "/api/v1/operator/events?tenantId=a.b", nil, 400, "INVALID_TENANT"},
		{"stream with unknown subject", "GET", "/api/v1/operator/events/stream?subject=inthub.dlq.%3E", nil, 400, "INVALID_QUERY"},
		{"replay without target", "POST", "/api/v1/operator/events/replay", map[string]any{"since": "5m"}, 400, "MISSING_REQUIRED_FIELD"},
		{"replay without start", "POST", "/api/v1/operator/events/replay", map[string]any{"target": "inthub.replay.x"}, 400, "MISSING_REQUIRED_FIELD"},
		{"replay onto a live subject", "POST", "/api/v1/operator/events/replay", map[string]any{"since": "5m", "target": "integration.health.changed.t.i"}, 400, "INVALID_FIELD_VALUE"},
		{"replay with a bad since", "POST", "/api/v1/operator/events/replay", map[string]any{"since": "soon", "target": "inthub.replay.x"}, 400, "INVALID_FIELD_VALUE"},
		{"replay with an unknown field", "POST", "/api/v1/operator/events/replay", map[string]any{"since": "5m", "target": "inthub.replay.x", "dryRun": true}, 400, "UNKNOWN_FIELD"},
		{"replay with a negative seq", "POST", "/api/v1/operator/events/replay", map[string]any{"fromSeq": -1, "target": "inthub.replay.x"}, 400, "INVALID_FIELD_TYPE"},
		{"dlq seq not a number", "GET", "/api/v1/operator/dlq/abc", nil, 400, "INVALID_QUERY"},
		{"dlq seq zero", "POST", "/api/v1/operator/dlq/0/redrive", nil, 400, "INVALID_QUERY"},
		{"dlq missing seq", "GET", "/api/v1/operator/dlq/424242", nil, 404, "MESSAGE_NOT_FOUND"},
		{"dlq delete missing seq", "DELETE", "/api/v1/operator/dlq/424242", nil, 404, "MESSAGE_NOT_FOUND"},
		{"dlq bad after", "GET", "/api/v1/operator/dlq?after=-1", nil, 400, "INVALID_QUERY"},
		{"purge with a misspelt filter", "POST", "/api/v1/operator/dlq/purge", map[string]any{"subjet": "integration.test.requested.>"}, 400, "UNKNOWN_FIELD"},
		{"purge of a foreign subject", "POST", "/api/v1/operator/dlq/purge", map[string]any{"subject": "inthub.manager.>"}, 400, "INVALID_FIELD_VALUE"},
		{"purge with the filter in the query", "POST", "/api/v1/operator/dlq/purge?subject=integration.test.requested.%3E", nil, 400, "INVALID_QUERY"},
		{"purge without a body", "POST", "/api/v1/operator/dlq/purge", nil, 400, "INVALID_FIELD_VALUE"},
		{"purge with an empty filter", "POST", "/api/v1/operator/dlq/purge", map[string]any{"subject": ""}, 400, "INVALID_FIELD_VALUE"},
		{"purge of all and a filter", "POST", "/api/v1/operator/dlq/purge", map[string]any{"all": true, "tenantId": devstack.DevTenantID}, 400, "INVALID_FIELD_VALUE"},
		{"wrong method", "GET", "/api/v1/operator/dlq/purge", nil, 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.call(tc.method, tc.path, tok, tc.body)
			if r.status != tc.status || r.code() != tc.code {
				t.Fatalf("%d %s; want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
}

func TestOperatorEventStream(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	id := uuid.NewString()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/api/v1/operator/events/stream?subject="+url.QueryEscape(contracts.SubjectHealthChanged+".*."+id), nil)
	req.Header.Set("Authorization", "Bearer "+s.info.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no line from the stream")
		}
		return ""
	}
	if l := next(); !strings.HasPrefix(l, ": following new events") {
		t.Fatalf("first line %q", l)
	}
	seqs := s.publishChanged(id, 2)
	s.publishChanged(uuid.NewString(), 1) // another integration: filtered out
	for _, seq := range seqs {
		var idLine, dataLine string
		for idLine == "" || dataLine == "" {
			switch l := next(); {
			case strings.HasPrefix(l, "id: "):
				idLine = l
			case strings.HasPrefix(l, "data: "):
				dataLine = l
			}
		}
		var ev ops.Event
		if err := json.Unmarshal([]byte(strings.TrimPrefix(dataLine, "data: ")), &ev); err != nil {
			t.Fatalf("data %q: %v", dataLine, err)
		}
		if idLine != fmt.Sprintf("id: %d", seq) || ev.Sequence != seq || !strings.HasSuffix(ev.Subject, "."+id) {
			t.Fatalf("event %s / %+v, want seq %d", idLine, ev, seq)
		}
	}
}
