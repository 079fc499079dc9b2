package manager

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Points where CrashAt stops the manager.
const (
	CrashAfterStore    = crashAfterStore
	CrashBeforePublish = crashBeforePublish
	CrashAfterAudit    = crashAfterAudit
	CrashAfterPublish  = crashAfterPublish
)

// CrashAt makes the manager run with cfg close its NATS connection, as
// kill -9 would, the nth time it reaches point.
func CrashAt(cfg *Config, point string, nth int) { cfg.crashAt, cfg.crashNth = point, nth }

// SetOutboxAckWait sets how soon another replica takes over a change whose
// replica died.
func SetOutboxAckWait(cfg *Config, d time.Duration) { cfg.outboxAckWait = d }

// WrapStore lets a test stand between the manager and its integrations
// bucket (a store that stops answering).
func WrapStore(cfg *Config, wrap func(jetstream.KeyValue) jetstream.KeyValue) { cfg.wrapKV = wrap }
