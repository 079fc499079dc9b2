package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/natstest"
)

type echoRequest struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
}

// TestServeAnswersEveryEndpointAlike: one adapter decodes every request
// with the same bounds and answers errors in one shape.
func TestServeAnswersEveryEndpointAlike(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	b := natstest.Open(t, s, "endpoints")
	observed := make(chan string, 16)
	svc, err := bus.Serve(b.Conn(), bus.Service{
		Name: "inthub-test", Version: "0.0.1", Prefix: "inthub.test",
		Routes: []bus.Route{bus.ReplyRoute("inthub.test.things.get", bus.Typed(func(_ context.Context, r echoRequest) (echoRequest, error) {
			switch r.ID {
			case "missing":
				return r, apierr.New(http.StatusNotFound, apierr.NotFound, "thing %s not found", r.ID).With("id", r.ID)
			case "broken":
				return r, errors.New("disk on fire at /var/secret")
			}
			return r, nil
		}))},
		Observe: func(_, code string, _ time.Duration) { observed <- code },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })
	cases := []struct {
		name, body           string
		status, code         string
		messageHas, notInAny string
		details              bool
	}{
		{name: "success", body: `{"tenantId":"t","id":"x"}`, status: ""},
		{name: "malformed", body: `{"tenantId":`, status: "400", code: apierr.MalformedJSON, messageHas: "request:"},
		{name: "unknown member", body: `{"tenantId":"t","surprise":1}`, status: "400", code: apierr.MalformedJSON, messageHas: "surprise"},
		{name: "data after the value", body: `{"tenantId":"t"} {}`, status: "400", code: apierr.MalformedJSON, messageHas: "after"},
		{name: "wrong type names the field, not the value", body: `{"tenantId":"t","id":12345}`, status: "400", code: apierr.MalformedJSON, messageHas: `"id"`, notInAny: "12345"},
		{name: "api error keeps status, code and details", body: `{"tenantId":"t","id":"missing"}`, status: "404", code: apierr.NotFound, messageHas: "not found", details: true},
		{name: "other errors are 500 without their text", body: `{"tenantId":"t","id":"broken"}`, status: "500", code: apierr.Internal, notInAny: "fire"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := b.Conn().Request("inthub.test.things.get", []byte(tc.body), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := reply.Header.Get(micro.ErrorCodeHeader); got != tc.status {
				t.Fatalf("status header %q, want %q (body %s)", got, tc.status, reply.Data)
			}
			wantObserved := tc.status
			if wantObserved == "" {
				wantObserved = "200"
			}
			if got := <-observed; got != wantObserved {
				t.Errorf("observed code %q, want %q", got, wantObserved)
			}
			if tc.notInAny != "" && strings.Contains(string(reply.Data)+reply.Header.Get(micro.ErrorHeader), tc.notInAny) {
				t.Errorf("reply echoes %q: %s", tc.notInAny, reply.Data)
			}
			if tc.status == "" {
				return
			}
			if got := reply.Header.Get(micro.ErrorHeader); got != tc.code {
				t.Errorf("code header %q, want %q", got, tc.code)
			}
			var body map[string]any
			if err := json.Unmarshal(reply.Data, &body); err != nil {
				t.Fatalf("error body %s: %v", reply.Data, err)
			}
			if body["code"] != tc.code || !strings.Contains(body["message"].(string), tc.messageHas) {
				t.Errorf("body %s, want code %s and a message with %q", reply.Data, tc.code, tc.messageHas)
			}
			if _, ok := body["details"]; ok != tc.details {
				t.Errorf("details present=%v, want %v: %s", ok, tc.details, reply.Data)
			}
		})
	}
}

// slowService serves inthub.test.things.get on a server of its own: a call
// for id "slow" holds a worker until the test ends; any other answers at
// once. It returns a function that calls the endpoint.
func slowService(t *testing.T, concurrency int, queueWait time.Duration) func(id string) (*nats.Msg, time.Duration, error) {
	t.Helper()
	b := natstest.Open(t, natstest.Start(t), "slow")
	release := make(chan struct{})
	svc, err := bus.Serve(b.Conn(), bus.Service{
		Name: "inthub-slow", Version: "0.0.1", Prefix: "inthub.test", Concurrency: concurrency, QueueWait: queueWait,
		Routes: []bus.Route{bus.ReplyRoute("inthub.test.things.get", bus.Typed(func(ctx context.Context, r echoRequest) (echoRequest, error) {
			if r.ID == "slow" {
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return r, nil
		}))},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(release)
		_ = svc.Stop()
	})
	return func(id string) (*nats.Msg, time.Duration, error) {
		start := time.Now()
		m, err := b.Conn().Request("inthub.test.things.get", []byte(`{"tenantId":"t","id":"`+id+`"}`), 5*time.Second)
		return m, time.Since(start), err
	}
}

// TestServeRunsCallsConcurrently: nats micro hands an endpoint's requests
// over one at a time, so a call blocked in a slow store held up every
// other call of its endpoint (list endpoints down ~23 s after a NATS
// restart). Calls now run on a pool: the others answer at once, and once
// the pool is full a call waits briefly, then is answered 503 UNAVAILABLE.
func TestServeRunsCallsConcurrently(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		concurrency int
		slow        int    // calls that hold a worker
		wantStatus  string // of the next call
		within      time.Duration
	}{
		{name: "a slow call does not delay the others", slow: 1, within: time.Second},
		{name: "many slow calls do not either", slow: 8, within: time.Second},
		{name: "a full pool answers 503 after the queue wait", concurrency: 2, slow: 2, wantStatus: "503", within: time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			call := slowService(t, tc.concurrency, 200*time.Millisecond)
			for range tc.slow {
				go func() { _, _, _ = call("slow") }()
			}
			time.Sleep(200 * time.Millisecond) // the slow calls hold their workers
			for i := range 3 {
				m, took, err := call(fmt.Sprint("fast-", i))
				if err != nil {
					t.Fatalf("call %d: %v after %s", i, err, took)
				}
				if got := m.Header.Get(micro.ErrorCodeHeader); got != tc.wantStatus || took > tc.within {
					t.Fatalf("call %d beside %d slow ones: status %q after %s, want %q within %s (%s)", i, tc.slow, got, took, tc.wantStatus, tc.within, m.Data)
				}
				if tc.wantStatus != "" && m.Header.Get(micro.ErrorHeader) != apierr.Unavailable {
					t.Errorf("code %q, want %s", m.Header.Get(micro.ErrorHeader), apierr.Unavailable)
				}
			}
		})
	}
}

// TestRepliedSetsReplyHeaders: an endpoint answering Replied sets its
// headers on the reply, and RequestHeader returns them.
func TestRepliedSetsReplyHeaders(t *testing.T) {
	t.Parallel()
	b := natstest.Open(t, natstest.Start(t), "replied")
	svc, err := bus.Serve(b.Conn(), bus.Service{
		Name: "inthub-replied", Version: "0.0.1", Prefix: "inthub.test",
		Routes: []bus.Route{bus.ReplyRoute("inthub.test.things.get", bus.Typed(func(_ context.Context, r echoRequest) (any, error) {
			return bus.Replied{Value: r, Header: map[string]string{"Idempotent-Replayed": "true"}}, nil
		}))},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop() })
	var out echoRequest
	h, err := bus.RequestHeader(context.Background(), b.Conn(), "test", "inthub.test.things.get", 5*time.Second, echoRequest{TenantID: "t", ID: "x"}, &out)
	if err != nil || out.ID != "x" || h.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("reply %+v, header %v, err %v", out, h, err)
	}
}
