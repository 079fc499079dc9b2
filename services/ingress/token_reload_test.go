package ingress

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The tokens file is reread while the ingress runs: a token added to the
// file is accepted and a removed one refused without a restart, the
// INTHUB_TOKENS and code-added tokens (the devstack's dev token) stay
// through every reload, and a broken file keeps the tokens in force.
func TestTokensFileReloadsWithoutRestart(t *testing.T) {
	t.Parallel()
	const tenant = "0193a0b4-0000-7000-8000-00000000000a"
	file := filepath.Join(t.TempDir(), "tokens.json")
	write := func(content string) {
		t.Helper()
		// As Kubernetes updates a mounted Secret: a new file renamed over
		// the old one, so a reader never sees half of it.
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(name, token string) string {
		return `{"name":"` + name + `","tenantId":"` + tenant + `","sha256":"` + HashToken(token) + `"}`
	}
	write(`{"tokens":[` + entry("old", "old-token") + `]}`)
	loaded, err := LoadTokens(file, "env:"+tenant+":"+HashToken("env-token"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := loaded.With(TokenEntry{Principal: Principal{Name: "dev", TenantID: tenant}, SHA256: HashToken("dev-token")})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	w := newTokenWatcher(tokens, 20*time.Millisecond, slog.New(slog.DiscardHandler), reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	accepted := func(token string) bool { _, ok := w.Tokens().Lookup(token); return ok }
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("not within 5s: %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	reloads := func(result string) float64 { return testutil.ToFloat64(w.reloads.WithLabelValues(result)) }

	steps := []struct {
		name     string
		content  string
		accepted []string
		refused  []string
		result   string // the reload counter that must move
	}{
		{"a token added", `{"tokens":[` + entry("old", "old-token") + `,` + entry("new", "new-token") + `]}`,
			[]string{"old-token", "new-token", "env-token", "dev-token"}, nil, "ok"},
		{"a token revoked", `{"tokens":[` + entry("new", "new-token") + `]}`,
			[]string{"new-token", "env-token", "dev-token"}, []string{"old-token"}, "ok"},
		{"a half-written file", `{"tokens":[` + entry("newer", "newer-token"),
			[]string{"new-token", "env-token", "dev-token"}, []string{"old-token", "newer-token"}, "error"},
		{"a token with a bad hash", `{"tokens":[{"name":"x","tenantId":"` + tenant + `","sha256":"plain"}]}`,
			[]string{"new-token", "env-token", "dev-token"}, nil, "error"},
		{"fixed again", `{"tokens":[` + entry("newer", "newer-token") + `]}`,
			[]string{"newer-token", "env-token", "dev-token"}, []string{"new-token"}, "ok"},
	}
	for _, step := range steps {
		before := reloads(step.result)
		write(step.content)
		waitFor(step.name+": the reload counter "+step.result+" moves", func() bool { return reloads(step.result) > before })
		for _, tok := range step.accepted {
			if !accepted(tok) {
				t.Errorf("%s: %s refused", step.name, tok)
			}
		}
		for _, tok := range step.refused {
			if accepted(tok) {
				t.Errorf("%s: %s still accepted", step.name, tok)
			}
		}
	}
	if p, ok := w.Tokens().Lookup("dev-token"); !ok || p.Name != "dev" {
		t.Fatalf("the code-added token after reloads: %+v %v", p, ok)
	}
}

// Without a tokens file there is nothing to watch: Run returns at once.
func TestTokenWatcherWithoutFile(t *testing.T) {
	t.Parallel()
	tokens, err := LoadTokens("", "env:0193a0b4-0000-7000-8000-00000000000a:"+HashToken("x"))
	if err != nil {
		t.Fatal(err)
	}
	w := newTokenWatcher(tokens, time.Millisecond, slog.New(slog.DiscardHandler), nil)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(context.Background()) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept watching without a file")
	}
}
