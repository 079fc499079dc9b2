package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

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
