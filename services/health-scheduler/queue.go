package healthscheduler

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// checkQueue bounds the check commands waiting in the work queue. The
// schedule publishes every slot that comes due; when checks cost more than
// the replicas can run, the commands pile up faster than they are taken,
// and nothing else would stop them. It reads the consumer's backlog (one
// JetStream API request) at most once per every, so a schedule publishing
// thousands of slots a second pays for it once.
//
// Every replica reads the same consumer, so they agree closely on when to
// skip; where two disagree for a moment, the one that publishes stores the
// slot once (the slot's id dedupes it) and it runs once, as any slot.
type checkQueue struct {
	max    int // commands; <= 0 never full
	every  time.Duration
	read   func(context.Context) (uint64, error)
	logger *slog.Logger
	gauge  prometheus.Gauge

	readAt  time.Time
	queued  uint64
	skipped bool // the last reading found it full (logged once per episode)
}

// full says whether the queue held max commands or more at its last
// reading, reading it again when that is older than every. A reading that
// fails keeps the previous one: the schedule goes on as it was.
func (q *checkQueue) full(ctx context.Context, now time.Time) bool {
	if q == nil || q.max <= 0 {
		return false
	}
	if q.readAt.IsZero() || now.Sub(q.readAt) >= q.every {
		q.readAt = now
		rctx, cancel := context.WithTimeout(ctx, q.every)
		n, err := q.read(rctx)
		cancel()
		if err == nil {
			q.queued = n
			if q.gauge != nil {
				q.gauge.Set(float64(n))
			}
		}
	}
	full := q.queued >= uint64(q.max)
	if full != q.skipped {
		q.skipped = full
		if full {
			q.logger.Warn("check queue full: skipping the scheduled slots coming due until it drains",
				"queued", q.queued, "max", q.max)
		} else {
			q.logger.Info("check queue drained: scheduled slots are published again", "queued", q.queued, "max", q.max)
		}
	}
	return full
}
