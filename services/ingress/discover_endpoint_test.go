package ingress

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/apierr"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/natstest"
)

func TestDiscoveryErrorStatus(t *testing.T) {
	t.Parallel()
	registry := contracts.ProviderInfo{ID: "docker-registry", SupportsDiscovery: true, SupportedResourceTypes: []string{"repositories", "tags"}}
	tests := []struct {
		code   string
		status int
		as     string
	}{
		{"UNSUPPORTED_RESOURCE_TYPE", http.StatusBadRequest, "UNSUPPORTED_RESOURCE_TYPE"},
		{"NOT_SUPPORTED", http.StatusBadRequest, "UNSUPPORTED_RESOURCE_TYPE"},
		{"VALIDATION_FAILED", http.StatusBadRequest, "VALIDATION_FAILED"},
		{"INVALID_CURSOR", http.StatusBadRequest, "INVALID_CURSOR"},
		{"INVALID_CONFIG", http.StatusBadRequest, "INVALID_CONFIG"},
		{"INTEGRATION_NOT_FOUND", http.StatusNotFound, "INTEGRATION_NOT_FOUND"},
		{"RESOURCE_NOT_FOUND", http.StatusNotFound, "RESOURCE_NOT_FOUND"},
		{"RATE_LIMITED", http.StatusTooManyRequests, "RATE_LIMITED"},
		{"TIMEOUT", http.StatusGatewayTimeout, "TIMEOUT"},
		{"AUTHENTICATION_FAILED", http.StatusBadGateway, "AUTHENTICATION_FAILED"},
		{"PERMISSION_DENIED", http.StatusBadGateway, "PERMISSION_DENIED"},
		{"CONNECTION_REFUSED", http.StatusBadGateway, "CONNECTION_REFUSED"},
		{"CREDENTIAL_FETCH_FAILED", http.StatusBadGateway, "CREDENTIAL_FETCH_FAILED"},
		{"DESTINATION_BLOCKED", http.StatusBadGateway, "DESTINATION_BLOCKED"},
		{"INTEGRATION_UNHEALTHY", http.StatusBadGateway, "INTEGRATION_UNHEALTHY"},
		{"UPSTREAM_ERROR", http.StatusBadGateway, "UPSTREAM_ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			e := discoveryError(contracts.ErrorBody{Code: tc.code, Message: "m"}, registry)
			if e.Status != tc.status || e.Code != tc.as {
				t.Fatalf("%s -> %d %s, want %d %s", tc.code, e.Status, e.Code, tc.status, tc.as)
			}
			if tc.as == "UNSUPPORTED_RESOURCE_TYPE" && fmt.Sprint(e.Details["supportedResourceTypes"]) != "[repositories tags]" {
				t.Fatalf("details %v", e.Details)
			}
		})
	}
}

func TestValidateDiscovery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  contracts.DiscoveryRequest
		code string
	}{
		{"spec example", contracts.DiscoveryRequest{ResourceType: "repositories", Filter: contracts.DiscoveryFilter{NamePattern: "myapp-*"}}, ""},
		{"tags of a repository, a page", contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{Repository: "myorg/app"}, Limit: 1000, Cursor: "abc"}, ""},
		{"no resource type", contracts.DiscoveryRequest{}, apierr.MissingRequiredField},
		{"resource type with a space", contracts.DiscoveryRequest{ResourceType: "my repos"}, apierr.ValidationFailed},
		{"limit 1001", contracts.DiscoveryRequest{ResourceType: "tags", Limit: 1001}, apierr.ValidationFailed},
		{"negative limit", contracts.DiscoveryRequest{ResourceType: "tags", Limit: -5}, apierr.ValidationFailed},
		{"malformed glob", contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{NamePattern: "[a-"}}, apierr.ValidationFailed},
		{"long glob", contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{NamePattern: strings.Repeat("a", 513)}}, apierr.ValidationFailed},
		{"bad allow regex", contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{Allow: []string{"v(1"}}}, apierr.ValidationFailed},
		{"bad semver constraint", contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{Semver: "banana"}}, apierr.ValidationFailed},
		{"unknown ordering", contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{OrderBy: "newest"}}, apierr.ValidationFailed},
		{"tag policy", contracts.DiscoveryRequest{ResourceType: "tags", Filter: contracts.DiscoveryFilter{Semver: ">=1.2 <2", Ignore: []string{"-rc"}, OrderBy: "semver"}}, ""},
		{"long cursor", contracts.DiscoveryRequest{ResourceType: "tags", Cursor: strings.Repeat("c", 257)}, apierr.InvalidCursor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validateDiscovery(tc.req)
			if code := codeOf(err); code != tc.code {
				t.Fatalf("code %q (%v), want %q", code, err, tc.code)
			}
		})
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return apierr.From(err).Code
}

func TestRequestIDOfReadsOnlyTheHead(t *testing.T) {
	t.Parallel()
	full, _ := json.Marshal(contracts.DiscoveryCompleted{RequestID: "r-1", TenantID: "t", IntegrationID: "i",
		Result: &contracts.DiscoveryResult{ResourceType: "tags", Items: []contracts.Resource{{Type: "tags", Name: "v1"}}}})
	for body, want := range map[string]string{
		string(full): "r-1",
		`{"tenantId":"t","error":{"code":"X","message":"m"},"requestId":"late"}`: "late",
		`{"tenantId":"t"}`: "",
		`not json`:         "",
		`{"requestId":7}`:  "",
	} {
		if got := requestIDOf([]byte(body)); got != want {
			t.Errorf("requestIDOf(%.40s) = %q, want %q", body, got, want)
		}
	}
}

func TestCompletionWaitersShareOneSubscription(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	nc, _ := natstest.Connect(t, s)
	w := newCompletionWaiters(nc, 50*time.Millisecond)
	const subject = "integration.discovery.completed.t.i"
	a, releaseA, err := w.wait(subject, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, releaseB, _ := w.wait(subject, "b")
	if n := nc.NumSubscriptions(); n != 1 {
		t.Fatalf("%d subscriptions for one integration, want 1", n)
	}
	for _, id := range []string{"b", "someone-else", "a"} {
		if err := nc.Publish(subject, []byte(`{"requestId":"`+id+`","result":{}}`)); err != nil {
			t.Fatal(err)
		}
	}
	for id, ch := range map[string]<-chan []byte{"a": a, "b": b} {
		select {
		case got := <-ch:
			if requestIDOf(got) != id {
				t.Fatalf("waiter %s got %s", id, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("waiter %s got nothing", id)
		}
	}
	releaseA()
	releaseB()
	// Idle past the linger time, the subscription goes.
	deadline := time.Now().Add(5 * time.Second)
	for nc.NumSubscriptions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle subscription stayed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Busy again: a new one.
	_, release, _ := w.wait(subject, "c")
	defer release()
	if n := nc.NumSubscriptions(); n != 1 {
		t.Fatalf("%d subscriptions, want 1", n)
	}
}
