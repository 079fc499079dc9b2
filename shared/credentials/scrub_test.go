package credentials

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/resilience"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestScrubberRemovesEveryForm(t *testing.T) {
	t.Parallel()
	const pass = "s3cr/et pass<&>\"q"
	const user = "deploy-bot"
	cases := []struct {
		name string
		add  func(*Scrubber)
		text string
		want string
	}{
		{"raw", func(s *Scrubber) { s.Add("hunter22") }, "denied: hunter22!", "denied: [redacted]!"},
		{"every occurrence", func(s *Scrubber) { s.Add("tok") }, "tok tok", "[redacted] [redacted]"},
		{"short value kept", func(s *Scrubber) { s.Add("ab") }, "ab cab", "ab cab"},
		{"three characters", func(s *Scrubber) { s.Add("xyz") }, "got xyz", "got [redacted]"},
		{"slash and spaces", func(s *Scrubber) { s.Add(pass) }, "echo " + pass + " end", "echo [redacted] end"},
		{"whitespace collapsed", func(s *Scrubber) { s.Add("two  spaces\there") }, "body: two spaces here", "body: [redacted]"},
		{"base64 std", func(s *Scrubber) { s.Add(pass) }, "x " + b64(pass), "x [redacted]"},
		{"base64 raw url", func(s *Scrubber) { s.Add(pass) }, "x " + base64.RawURLEncoding.EncodeToString([]byte(pass)), "x [redacted]"},
		{"query escaped", func(s *Scrubber) { s.Add(pass) }, "q=" + url.QueryEscape(pass) + "&", "q=[redacted]&"},
		{"path escaped", func(s *Scrubber) { s.Add(pass) }, "/v1/" + url.PathEscape(pass) + "/x", "/v1/[redacted]/x"},
		{"json escaped", func(s *Scrubber) { s.Add(pass) }, `{"k":"s3cr/et pass\u003c\u0026\u003e\"q"}`, `{"k":"[redacted]"}`},
		{"json escaped without html", func(s *Scrubber) { s.Add(pass) }, `{"k":"s3cr/et pass<&>\"q"}`, `{"k":"[redacted]"}`},
		{"go quoted", func(s *Scrubber) { s.Add(pass) }, strconv.Quote("got " + pass), `"got [redacted]"`},
		{"user alone kept", func(s *Scrubber) { s.AddSecret(Secret{"username": user, "password": "pw-123"}) }, "user " + user, "user " + user},
		{"user:pass", func(s *Scrubber) { s.AddPair(user, "pw") }, "auth " + user + ":pw", "auth [redacted]"},
		{"http basic", func(s *Scrubber) { s.AddPair(user, "pw") }, "Basic " + b64(user+":pw"), "Basic [redacted]"},
		{"smtp plain", func(s *Scrubber) { s.AddPair(user, "pw") }, "535 AUTH PLAIN " + b64("\x00"+user+"\x00pw"), "535 AUTH PLAIN [redacted]"},
		{"smtp plain with authzid", func(s *Scrubber) { s.AddPair(user, "pw") }, b64(user + "\x00" + user + "\x00pw"), "[redacted]"},
		{"smtp login", func(s *Scrubber) { s.AddPair(user, "pw-123") }, b64(user) + " " + b64("pw-123"), "[redacted] [redacted]"},
		{"value user:pass", func(s *Scrubber) { s.AddSecret(Secret{"value": user + ":pw"}) }, "Basic " + b64(user+":pw"), "Basic [redacted]"},
		{"truncated", func(s *Scrubber) { s.Add("abcdefghijkl") }, `"error abcdefg…"`, `"error [redacted]…"`},
		{"truncated with dots", func(s *Scrubber) { s.Add("abcdefghijkl") }, "error abcdefg...", "error [redacted]..."},
		{"truncated too short kept", func(s *Scrubber) { s.Add("abcdefghijkl") }, "error abc…", "error abc…"},
		{"truncated base64", func(s *Scrubber) { s.Add(pass) }, "x " + b64(pass)[:10] + "…", "x [redacted]…"},
		{"longer first", func(s *Scrubber) { s.Add("abcd", "xxabcdefyy") }, "k=xxabcdefyy", "k=[redacted]"},
		{"overlapping", func(s *Scrubber) { s.Add("abcdef", "defghi") }, "abcdefghi!", "[redacted]!"},
		{"redacted word kept", func(s *Scrubber) { s.Add("act") }, "act " + Redacted, "[redacted] " + Redacted},
		{"service-account identifiers kept", func(s *Scrubber) {
			s.AddSecret(Secret{"client_email": "sa@p.iam", "private_key": "-----BEGIN KEY-----\nMIIE\n-----END KEY-----"})
		}, "sa@p.iam: -----BEGIN KEY----- MIIE -----END KEY-----", "sa@p.iam: [redacted]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewScrubber(0)
			tc.add(s)
			if got := s.String(tc.text); got != tc.want {
				t.Fatalf("String(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestScrubberKeepsRecentValuesOnly(t *testing.T) {
	t.Parallel()
	s := NewScrubber(2)
	s.Add("first-secret", "second-secret", "third-secret")
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	got := s.String("first-secret second-secret third-secret")
	if got != "first-secret [redacted] [redacted]" {
		t.Fatalf("got %q: the oldest value should be the one forgotten", got)
	}
	s.Add("second-secret") // re-adding refreshes, it does not duplicate
	s.Add("fourth-secret")
	if got := s.String("second-secret third-secret"); got != "[redacted] third-secret" {
		t.Fatalf("after refresh got %q", got)
	}
}

func TestScrubberErrorKeepsCodeAndRetryAfter(t *testing.T) {
	t.Parallel()
	s := NewScrubber(0)
	s.Add("hunter22")
	inner := &resilience.Error{Code: resilience.RateLimited, Message: "echo hunter22", RetryAfter: 7 * time.Second, Err: context.DeadlineExceeded}
	err := s.Error(fmt.Errorf("discover: %w", inner))
	if strings.Contains(err.Error(), "hunter22") {
		t.Fatalf("secret left in %q", err)
	}
	var coded *resilience.Error
	if !errors.As(err, &coded) || strings.Contains(coded.Message, "hunter22") {
		t.Fatalf("errors.As gives %#v", coded)
	}
	if resilience.CodeOf(err) != resilience.RateLimited || resilience.RetryAfterOf(err) != 7*time.Second {
		t.Fatalf("code %s retry %s", resilience.CodeOf(err), resilience.RetryAfterOf(err))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("errors.Is lost the cause's identity")
	}
	if got := resilience.MessageOf(err); got != "discover: RATE_LIMITED: echo [redacted]: context deadline exceeded" {
		t.Fatalf("message %q", got)
	}
	clean := errors.New("no secret here")
	if s.Error(clean) != clean || s.Error(nil) != nil {
		t.Fatal("an error without a secret must come back as is")
	}
	var none *Scrubber
	if none.String("hunter22") != "hunter22" || none.Error(clean) != clean {
		t.Fatal("a nil scrubber must change nothing")
	}
}

func TestScrubberIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	s := NewScrubber(8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				v := fmt.Sprintf("value-%d-%d", i, j)
				s.Add(v)
				// Other goroutines may already have pushed v out.
				if got := s.String("x " + v); got != "x [redacted]" && got != "x "+v {
					t.Errorf("got %q", got)
				}
			}
		}()
	}
	wg.Wait()
	if s.Len() != 8 {
		t.Fatalf("Len = %d, want 8", s.Len())
	}
}

// BenchmarkScrubberString measures a typical connector's scrubber (a basic
// credential and the headers it sent) on a short resource name and on a
// 1 KiB error message.
func BenchmarkScrubberString(b *testing.B) {
	s := NewScrubber(0)
	s.AddSecret(Secret{"username": "deploy-bot", "password": "s3cr/et pass"})
	s.Add("Basic "+b64("deploy-bot:s3cr/et pass"), "Bearer eyJhbGciOiJIUzI1NiJ9.e30.derived-registry-token")
	for _, tc := range []struct{ name, text string }{
		{"name", "team/service-api"},
		{"message", strings.Repeat("GET /v2/team/service-api/tags/list: HTTP 401 Unauthorized ", 17) + "…"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				_ = s.String(tc.text)
			}
		})
	}
}
