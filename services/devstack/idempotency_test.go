package devstack_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
)

// TestARetriedCreateWithItsKeyMakesOneIntegration: a client whose create
// was stored but whose answer it never read (it hung up, as after a 504)
// retries with the same Idempotency-Key: the answer is the first result
// (201, same id and ETag, Idempotent-Replayed: true) and the catalog holds
// one integration. Before, the retry stored a second one.
func TestARetriedCreateWithItsKeyMakesOneIntegration(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	tok := s.info.Token
	body, _ := json.Marshal(webhook("retried"))
	const key = "release-42-hooks"

	// The first attempt: sent whole, its answer never read.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/v1/integrations HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nIdempotency-Key: %s\r\nContent-Length: %d\r\n\r\n%s", tok, key, len(body), body)
	count := func() []contracts.Integration {
		var list contracts.IntegrationList
		s.call("GET", "/api/v1/integrations", tok, nil).decode(&list)
		return list.Items
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(count()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the first attempt was never stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = conn.Close()
	stored := count()[0]

	r := s.call("POST", "/api/v1/integrations", tok, body, "Idempotency-Key", key)
	var it contracts.Integration
	r.decode(&it)
	if r.status != http.StatusCreated || it.ID != stored.ID || r.header.Get("ETag") != fmt.Sprintf(`"%d"`, stored.Revision) ||
		r.header.Get("Idempotent-Replayed") != "true" || r.header.Get("Location") != "/api/v1/integrations/"+stored.ID {
		t.Fatalf("retry: %d %v %s, want the first result (%s)", r.status, r.header, r.body, stored.ID)
	}
	if n := len(count()); n != 1 {
		t.Fatalf("%d integrations after the retry, want 1", n)
	}
	if n := s.eventCount(); n != 1 {
		t.Fatalf("%d lifecycle events, want 1 integration.created", n)
	}

	// The same key with another body is refused and stores nothing.
	other, _ := json.Marshal(webhook("another"))
	if r := s.call("POST", "/api/v1/integrations", tok, other, "Idempotency-Key", key); r.status != http.StatusUnprocessableEntity || r.code() != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("key reused with another body: %d %s", r.status, r.body)
	}
	// A fresh create without a key answers without the replay header.
	if r := s.call("POST", "/api/v1/integrations", tok, other); r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("create without a key: %d %v", r.status, r.header)
	}
	if n := len(count()); n != 2 {
		t.Fatalf("%d integrations, want 2", n)
	}
}
