package ingress

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultTokensReload is INTHUB_TOKENS_RELOAD_INTERVAL's default.
const DefaultTokensReload = 10 * time.Second

// tokenWatcher serves the current token set and rereads the tokens file
// every interval, so a token added, rotated or revoked in the file (a
// Kubernetes Secret's update included, which swaps a symlink and keeps no
// mtime worth trusting) holds without a restart. It compares the file's
// content, not its modification time.
type tokenWatcher struct {
	current  atomic.Pointer[Tokens]
	interval time.Duration
	logger   *slog.Logger
	reloads  *prometheus.CounterVec
	// lastErr keeps a broken file from logging the same error every tick.
	lastErr string
}

func newTokenWatcher(t *Tokens, interval time.Duration, logger *slog.Logger, reg prometheus.Registerer) *tokenWatcher {
	if interval <= 0 {
		interval = DefaultTokensReload
	}
	w := &tokenWatcher{interval: interval, logger: logger,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inthub_ingress_token_reloads_total",
			Help: "Reloads of the tokens file by result: ok (the file changed and was applied) or error (it did not read or validate; the previous tokens stay).",
		}, []string{"result"})}
	// Both results are exported from the start, so an alert on errors has
	// a series before the first one.
	w.reloads.WithLabelValues("ok")
	w.reloads.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(w.reloads)
	}
	w.current.Store(t)
	return w
}

// Tokens returns the set in force.
func (w *tokenWatcher) Tokens() *Tokens { return w.current.Load() }

// Run rereads the file until ctx ends; it returns at once without a file.
func (w *tokenWatcher) Run(ctx context.Context) {
	if w.current.Load().File() == "" {
		return
	}
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w.reload(ctx)
		}
	}
}

// reload applies the file if it changed; a bad file is logged (without its
// content) and the tokens in force stay.
func (w *tokenWatcher) reload(ctx context.Context) {
	old := w.current.Load()
	fresh, changed, err := old.Reload()
	switch {
	case err != nil:
		w.reloads.WithLabelValues("error").Inc()
		if err.Error() == w.lastErr {
			return
		}
		w.lastErr = err.Error()
		w.logger.ErrorContext(ctx, "tokens file not reloaded: the previous tokens stay in force", "file", old.File(), "error", err.Error())
	case changed:
		w.lastErr = ""
		w.current.Store(fresh)
		w.reloads.WithLabelValues("ok").Inc()
		w.logger.InfoContext(ctx, "tokens file reloaded", "file", old.File(), "tokens", fresh.Len())
	}
}
