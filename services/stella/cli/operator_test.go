package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gopkg.in/yaml.v3"

	"github.com/stella-ops/inthub/services/stella/cli"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

// operatorEnv names the test hub and the operator token.
func operatorEnv() func(string) string {
	m := map[string]string{"STELLA_SERVER": testHub.server, "STELLA_TOKEN": testHub.operatorToken}
	return func(k string) string { return m[k] }
}

// hubJetStream connects the test to the test hub's NATS.
func hubJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	_, js := natstest.ConnectURL(t, testHub.devInfo.NATSURL)
	return js
}

// publishChanged publishes n integration.health.changed events of one
// integration and returns their stream sequences.
func publishChanged(t *testing.T, js jetstream.JetStream, integration string, n int) []uint64 {
	t.Helper()
	pub := bus.NewPublisher(js, "inthub/cli-test")
	var seqs []uint64
	for i := 0; i < n; i++ {
		ack, err := pub.Publish(context.Background(), bus.Event{
			Subject: contracts.Subject(contracts.SubjectHealthChanged, operatorTenant, integration), TenantID: operatorTenant, DataSubject: integration,
			Data: contracts.HealthChanged{TenantID: operatorTenant, IntegrationID: integration, TypeID: "inmemory", Name: "mem",
				Previous: "healthy", Current: "degraded", Reason: fmt.Sprint("change ", i), ChangedAt: time.Now().UTC()},
		})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	return seqs
}

// deadLetter writes a dead letter of an integration.test.requested command
// into INTHUB_DLQ, as the dead-letter middleware would.
func deadLetter(t *testing.T, js jetstream.JetStream, integration, body string) uint64 {
	t.Helper()
	subject := contracts.Subject(contracts.SubjectTestRequested, operatorTenant, integration)
	msg := nats.NewMsg(bus.DLQPrefix + "." + subject)
	msg.Data = []byte(body)
	id := "test-request:" + uuid.NewString()
	for k, v := range map[string]string{
		"ce-id": id, "Nats-Msg-Id": id, "ce-type": "inthub.integration.test.requested",
		bus.HeaderDLQReason: "decode integration.test.requested body: invalid character", bus.HeaderDLQSubject: subject,
		bus.HeaderDLQStream: bus.StreamCommands, bus.HeaderDLQHandler: "integration-test", bus.HeaderDLQAttempts: "1",
		bus.HeaderDLQTime: time.Now().UTC().Format(time.RFC3339Nano),
	} {
		msg.Header.Set(k, v)
	}
	ack, err := js.PublishMsg(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

type eventItem struct {
	Sequence uint64            `json:"sequence"`
	Subject  string            `json:"subject"`
	Headers  map[string]string `json:"headers"`
	Data     json.RawMessage   `json:"data"`
}

func TestOperatorCommandsNeedTheOperatorRole(t *testing.T) {
	t.Parallel()
	h := hubFor(t)
	for _, args := range [][]string{
		{"events", "tail"},
		{"events", "replay", "--subject", "integration.health.changed", "--since", "5m"},
		{"events", "replay", "--subject", "integration.health.changed", "--from-seq", "1", "--republish-to", "inthub.replay.x"},
		{"dlq", "list"},
		{"dlq", "show", "1"},
		{"dlq", "redrive", "1"},
		{"dlq", "purge", "--all", "--yes"},
		{"dlq", "purge", "1", "--yes"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := stella(t, h.env(), args...)
			if r.code != cli.ExitUnauthorized || !strings.Contains(r.stderr, "FORBIDDEN") || r.stdout != "" {
				t.Fatalf("%s", r)
			}
		})
	}
}

func TestEventsReplayPrintsTheEventsSinceATime(t *testing.T) {
	t.Parallel()
	js := hubJetStream(t)
	id := uuid.NewString()
	subject := contracts.SubjectHealthChanged + ".*." + id
	publishChanged(t, js, id, 2)
	time.Sleep(10 * time.Millisecond)
	since := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	later := publishChanged(t, js, id, 3)

	r := stella(t, operatorEnv(), "events", "replay", "--subject", subject, "--since", since.Format(time.RFC3339Nano), "-o", "json")
	page := mustJSON[struct{ Items []eventItem }](t, r)
	var got []uint64
	for _, ev := range page.Items {
		got = append(got, ev.Sequence)
	}
	if r.code != 0 || r.stderr != "" || !slices.Equal(got, later) {
		t.Fatalf("since: %v, want %v\n%s", got, later, r)
	}
	var hc contracts.HealthChanged
	if err := json.Unmarshal(page.Items[0].Data, &hc); err != nil || hc.IntegrationID != id || page.Items[0].Headers["ce-type"] != "inthub.integration.health.changed" {
		t.Fatalf("first event %+v: %v", page.Items[0], err)
	}

	t.Run("sequence range, table", func(t *testing.T) {
		r := stella(t, operatorEnv(), "events", "replay", "--subject", subject, "--from-seq", strconv.FormatUint(later[0], 10), "--to", strconv.FormatUint(later[1], 10))
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "SEQ TIME SUBJECT DATA" ||
			!strings.HasPrefix(lines[1], strconv.FormatUint(later[0], 10)+" ") || !strings.Contains(lines[2], `"reason":"change 1"`) {
			t.Fatalf("%s", r)
		}
	})
	t.Run("yaml", func(t *testing.T) {
		r := stella(t, operatorEnv(), "events", "replay", "--subject", subject, "--since", since.Format(time.RFC3339Nano), "-o", "yaml")
		var doc struct {
			Items []struct {
				Sequence uint64 `yaml:"sequence"`
			} `yaml:"items"`
		}
		if err := yaml.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Items) != 3 || doc.Items[2].Sequence != later[2] {
			t.Fatalf("yaml: %v\n%s", err, r)
		}
	})
	t.Run("bad since is exit 2", func(t *testing.T) {
		r := stella(t, operatorEnv(), "events", "replay", "--subject", subject, "--since", "yesterday")
		if r.code != cli.ExitInvalidInput || !strings.Contains(r.stderr, "INVALID_QUERY") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("since and from-seq exclude each other", func(t *testing.T) {
		r := stella(t, operatorEnv(), "events", "replay", "--subject", subject, "--since", "5m", "--from-seq", "3")
		if r.code != cli.ExitInvalidInput {
			t.Fatalf("%s", r)
		}
	})
}

func TestEventsReplayPagesQuietlyWhenNotATerminal(t *testing.T) {
	t.Parallel()
	js := hubJetStream(t)
	id := uuid.NewString()
	seqs := publishChanged(t, js, id, 230) // three pages of the server's 100
	r := stella(t, operatorEnv(), "events", "replay", "--subject", contracts.SubjectHealthChanged+".*."+id, "--from-seq", strconv.FormatUint(seqs[0], 10), "-o", "json")
	page := mustJSON[struct{ Items []eventItem }](t, r)
	if r.code != 0 || len(page.Items) != len(seqs) || page.Items[229].Sequence != seqs[229] {
		t.Fatalf("%d events, want %d", len(page.Items), len(seqs))
	}
	if r.stderr != "" {
		t.Fatalf("progress written to a stderr that is not a terminal: %q", r.stderr)
	}
}

func TestEventsReplayRepublishes(t *testing.T) {
	t.Parallel()
	js := hubJetStream(t)
	id := uuid.NewString()
	seqs := publishChanged(t, js, id, 3)
	target := "inthub.replay.cli-" + id[:8]
	args := []string{"events", "replay", "--subject", contracts.SubjectHealthChanged + ".*." + id, "--from-seq", strconv.FormatUint(seqs[0], 10), "--republish-to", target}
	r := stella(t, operatorEnv(), append(args, "-o", "json")...)
	res := mustJSON[struct {
		Target     string `json:"target"`
		Count      int    `json:"count"`
		Duplicates int    `json:"duplicates"`
	}](t, r)
	if r.code != 0 || res.Count != 3 || res.Duplicates != 0 || res.Target != target {
		t.Fatalf("%s", r)
	}
	r = stella(t, operatorEnv(), args...)
	if r.code != 0 || !strings.Contains(r.stdout, "republished 3 events to "+target) || !strings.Contains(r.stdout, "3 were there already") {
		t.Fatalf("again: %s", r)
	}
	r = stella(t, operatorEnv(), "events", "replay", "--subject", target+".>", "--from-seq", "1", "-o", "json")
	copies := mustJSON[struct{ Items []eventItem }](t, r)
	if len(copies.Items) != 3 || copies.Items[0].Subject != target+"."+contracts.Subject(contracts.SubjectHealthChanged, operatorTenant, id) ||
		copies.Items[0].Headers["inthub-replayed-from"] != fmt.Sprintf("INTHUB_EVENTS:%d", seqs[0]) {
		t.Fatalf("copies: %s", r)
	}
	r = stella(t, operatorEnv(), "events", "replay", "--subject", "integration.health.changed", "--from-seq", "1", "--republish-to", "integration.health.changed.x.y")
	if r.code != cli.ExitInvalidInput || !strings.Contains(r.stderr, "INVALID_FIELD_VALUE") {
		t.Fatalf("live subject as target: %s", r)
	}
}

// syncBuffer is a writer a running command and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEventsTailPrintsNewEventsUntilInterrupted(t *testing.T) {
	t.Parallel()
	js := hubJetStream(t)
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			id := uuid.NewString()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errOut syncBuffer
			done := make(chan int, 1)
			go func() {
				done <- cli.RunContext(ctx, []string{"events", "tail", "--subject", contracts.SubjectHealthChanged + ".*." + id, "-o", format}, &out, &errOut, operatorEnv())
			}()
			// The tail starts at the next event: publish until one shows.
			deadline := time.Now().Add(15 * time.Second)
			for strings.Count(out.String(), id) < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("no event tailed; stderr %q", errOut.String())
				}
				publishChanged(t, js, id, 1)
				time.Sleep(100 * time.Millisecond)
			}
			cancel() // Ctrl-C
			select {
			case code := <-done:
				if code != cli.ExitOK {
					t.Fatalf("exit %d; stderr %q", code, errOut.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("tail did not stop")
			}
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if format == "json" {
					var ev eventItem
					if err := json.Unmarshal([]byte(line), &ev); err != nil || !strings.HasSuffix(ev.Subject, "."+id) {
						t.Errorf("line %q: %v", line, err)
					}
				} else if f := strings.Fields(line); len(f) < 4 || !strings.HasSuffix(f[2], "."+id) || !strings.HasPrefix(f[3], "{") {
					t.Errorf("line %q", line)
				}
			}
		})
	}
}

func TestDLQCommands(t *testing.T) {
	t.Parallel()
	js := hubJetStream(t)
	id := uuid.NewString()
	filter := contracts.SubjectTestRequested + ".*." + id
	first := deadLetter(t, js, id, "{not json")
	second := deadLetter(t, js, id, `{"requestId":"r-2"}`)
	third := deadLetter(t, js, id, `{"requestId":"r-3"}`)
	otherID := uuid.NewString()
	otherFilter := contracts.SubjectTestRequested + ".*." + otherID
	deadLetter(t, js, otherID, `{"requestId":"r-other"}`)

	r := stella(t, operatorEnv(), "dlq", "list", "--subject", filter)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "SEQ DEAD-LETTERED ORIGINAL SUBJECT HANDLER DELIVERIES REASON" ||
		!strings.HasPrefix(lines[1], strconv.FormatUint(first, 10)+" ") || !strings.Contains(lines[1], "integration-test") {
		t.Fatalf("list: %s", r)
	}
	r = stella(t, operatorEnv(), "dlq", "list", "--subject", filter, "--limit", "1", "--all", "-o", "json")
	page := mustJSON[struct {
		Items []struct {
			Sequence        uint64 `json:"sequence"`
			OriginalSubject string `json:"originalSubject"`
		} `json:"items"`
	}](t, r)
	if len(page.Items) != 3 || page.Items[2].Sequence != third || page.Items[0].OriginalSubject != contracts.Subject(contracts.SubjectTestRequested, operatorTenant, id) {
		t.Fatalf("list --all: %s", r)
	}

	r = stella(t, operatorEnv(), "dlq", "show", strconv.FormatUint(first, 10))
	for _, want := range []string{"Reason:", "decode integration.test.requested body", "Handler:", "integration-test", "ce-id", "Body (not JSON):\n{not json"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r)
		}
	}
	r = stella(t, operatorEnv(), "dlq", "show", strconv.FormatUint(second, 10), "-o", "json")
	detail := mustJSON[struct {
		Data    map[string]string `json:"data"`
		Headers map[string]string `json:"headers"`
	}](t, r)
	if detail.Data["requestId"] != "r-2" || detail.Headers["inthub-dlq-handler"] != "integration-test" {
		t.Fatalf("show -o json: %s", r)
	}

	r = stella(t, operatorEnv(), "dlq", "redrive", strconv.FormatUint(second, 10))
	if r.code != 0 || !strings.Contains(r.stdout, "redrove dead letter "+strconv.FormatUint(second, 10)+" to "+contracts.Subject(contracts.SubjectTestRequested, operatorTenant, id)) {
		t.Fatalf("redrive: %s", r)
	}
	if r := stella(t, operatorEnv(), "dlq", "redrive", strconv.FormatUint(second, 10)); r.code != cli.ExitNotFound || !strings.Contains(r.stderr, "MESSAGE_NOT_FOUND") {
		t.Fatalf("second redrive: %s", r)
	}

	if r := stella(t, operatorEnv(), "dlq", "purge", "--subject", filter); r.code != cli.ExitInvalidInput || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("purge without --yes: %s", r)
	}
	// Everything needs --all: no selection purges nothing.
	if r := stella(t, operatorEnv(), "dlq", "purge", "--yes"); r.code != cli.ExitInvalidInput || !strings.Contains(r.stderr, "--all") {
		t.Fatalf("purge without a selection: %s", r)
	}
	if r := stella(t, operatorEnv(), "dlq", "list", "--subject", otherFilter, "-o", "json"); len(mustJSON[struct{ Items []any }](t, r).Items) != 1 {
		t.Fatalf("a purge without a selection removed dead letters: %s", r)
	}
	if r := stella(t, operatorEnv(), "dlq", "purge", strconv.FormatUint(first, 10), "--yes"); r.code != 0 || !strings.Contains(r.stdout, "deleted dead letter") {
		t.Fatalf("purge one: %s", r)
	}
	r = stella(t, operatorEnv(), "dlq", "purge", "--subject", filter, "--yes", "-o", "json")
	if r.code != 0 || mustJSON[map[string]int](t, r)["purged"] != 1 {
		t.Fatalf("purge by subject: %s", r)
	}
	if r := stella(t, operatorEnv(), "dlq", "list", "--subject", filter, "-o", "json"); len(mustJSON[struct{ Items []any }](t, r).Items) != 0 {
		t.Fatalf("left after purge: %s", r)
	}
	if r := stella(t, operatorEnv(), "dlq", "list", "--subject", otherFilter, "-o", "json"); len(mustJSON[struct{ Items []any }](t, r).Items) != 1 {
		t.Fatalf("the purge by subject removed another subject's dead letter: %s", r)
	}
	if r := stella(t, operatorEnv(), "dlq", "purge", "--subject", otherFilter, "--yes"); r.code != 0 || !strings.Contains(r.stdout, "purged 1 dead letters") {
		t.Fatalf("purge of the other: %s", r)
	}
	if r := stella(t, operatorEnv(), "dlq", "show", strconv.FormatUint(third, 10)); r.code != cli.ExitNotFound {
		t.Fatalf("show of a purged dead letter: %s", r)
	}
	if r := stella(t, operatorEnv(), "dlq", "show", "abc"); r.code != cli.ExitInvalidInput {
		t.Fatalf("show abc: %s", r)
	}
}

// operatorGET reads an operator endpoint's raw answer.
func operatorGET(t *testing.T, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, testHub.server+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testHub.operatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, body, err)
	}
	return body
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// TestDLQAnswersDecodeLosslessly: every DLQ answer the ingress produces
// decodes into the CLI's view and encodes back to the same JSON, for dead
// letters with a JSON body, a text body, a binary body and no original
// stream (the member the CLI's own copy once spelt differently).
func TestDLQAnswersDecodeLosslessly(t *testing.T) {
	t.Parallel()
	js := hubJetStream(t)
	id := uuid.NewString()
	seqs := []uint64{
		deadLetter(t, js, id, `{"requestId":"r-1","nested":{"n":1.5,"list":[true,null]}}`),
		deadLetter(t, js, id, "{not json"),
		deadLetter(t, js, id, "\x00\x01\xff binary"),
	}
	// One without inthub-dlq-stream, as an older hub wrote them.
	msg := nats.NewMsg(bus.DLQPrefix + "." + contracts.Subject(contracts.SubjectTestRequested, operatorTenant, id))
	msg.Data = []byte(`{}`)
	msg.Header.Set(bus.HeaderDLQReason, "handler failed")
	ack, err := js.PublishMsg(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	seqs = append(seqs, ack.Sequence)

	filter := url.QueryEscape(contracts.SubjectTestRequested + ".*." + id)
	cases := []struct {
		name string
		path string
		view func() any
	}{
		{"list", "/api/v1/operator/dlq?subject=" + filter, func() any { return &cli.DLQPageView{} }},
		{"list, second page", fmt.Sprintf("/api/v1/operator/dlq?subject=%s&limit=1&after=%d", filter, seqs[0]), func() any { return &cli.DLQPageView{} }},
	}
	for _, seq := range seqs {
		cases = append(cases, struct {
			name string
			path string
			view func() any
		}{fmt.Sprint("show ", seq), fmt.Sprint("/api/v1/operator/dlq/", seq), func() any { return &cli.DeadLetterView{} }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := operatorGET(t, tc.path)
			view := tc.view()
			if err := json.Unmarshal(raw, view); err != nil {
				t.Fatalf("decode %s: %v", raw, err)
			}
			again, err := json.Marshal(view)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, raw, again) {
				t.Errorf("the CLI's view loses or adds members:\n ingress %s\n CLI     %s", raw, again)
			}
		})
	}
	t.Run("list --all re-encodes the CLI's view", func(t *testing.T) {
		raw := operatorGET(t, "/api/v1/operator/dlq?subject="+filter)
		r := stella(t, operatorEnv(), "dlq", "list", "--subject", contracts.SubjectTestRequested+".*."+id, "--limit", "1", "--all", "-o", "json")
		if r.code != 0 || !sameJSON(t, raw, []byte(r.stdout)) {
			t.Errorf("list --all differs from the one-page answer:\n ingress %s\n%s", raw, r)
		}
	})
}
