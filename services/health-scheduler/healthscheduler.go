// Package healthscheduler is the health-scheduler service: it keeps a
// schedule of the three check levels for every integration (from a
// watch on the integrations bucket), publishes each check slot once as a
// command, runs checks and on-demand tests on whichever replica pulls them,
// records results in the "health" bucket and announces status transitions.
package healthscheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/catalog"
	"github.com/stella-ops/inthub/shared/config"
	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
	"github.com/stella-ops/inthub/shared/resilience/breakermetrics"
	"github.com/stella-ops/inthub/shared/startup"
)

// Config configures the service. Zero values take the defaults.
type Config struct {
	Bus      bus.Config
	Logger   *slog.Logger
	Metrics  prometheus.Registerer
	Registry *connectors.Registry
	Resolver *credentials.Resolver
	// Policy is the operator's outbound address policy.
	Policy    httpx.GuardPolicy
	Intervals Intervals
	// FlapThreshold is how many agreeing results flip a check's status (2).
	FlapThreshold int
	// Workers is how many checks this replica runs at once (16).
	Workers int
	// MaxQueued is how many check commands may wait in the queue (not yet
	// taken, or taken and not yet acknowledged) before the schedule stops
	// publishing: a slot that comes due while the queue holds that many
	// is skipped (inthub_health_checks_skipped_total) and the level is
	// checked at its next slot. Without it a fleet whose checks cost more
	// than the replicas can run grows the queue, and the memory and disk
	// holding it, without end. A new revision's first check is never
	// skipped. 0 takes config.DefaultMaxQueuedChecks; negative never skips.
	MaxQueued int
	// CheckTimeout bounds one attempt of one check (10s).
	CheckTimeout time.Duration
	Retry        resilience.Policy
	Breaker      resilience.BreakerConfig
	// DisableSchedule runs this replica as a worker only (no publishing).
	DisableSchedule bool
	// PublishTick (50ms) batches the schedule: the loop wakes on multiples
	// of it and publishes every slot due by then in one go, rather than
	// waking for each slot. Each slot is still its own command, never
	// published before it is due, and late by less than a tick. Batches
	// keep the work queue from emptying after almost every check (the
	// server then drops and recreates its file-store block each time) and
	// spare a wake-up and a network flush per slot.
	PublishTick time.Duration
	Clock       func() time.Time
	// Ready, if set, is closed once the service consumes.
	Ready chan<- struct{}
	// Catalog, when set, is the catalog view the process shares among its
	// services (devstack): the service follows it instead of watching the
	// integrations bucket into a view of its own.
	Catalog *catalog.View
	// OnPublished, if set, is called by the schedule loop after each check
	// command is handed to the bus, with the slot's due time and the time
	// of the publish: schedbench measures scheduling lag with it, exactly
	// rather than from histogram buckets. It runs on the loop, so it must
	// be quick.
	OnPublished func(due, published time.Time)
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Resolver == nil {
		c.Resolver = &credentials.Resolver{}
	}
	if c.Intervals == (Intervals{}) {
		c.Intervals = DefaultIntervals()
	}
	if c.FlapThreshold <= 0 {
		c.FlapThreshold = 2
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.MaxQueued == 0 {
		c.MaxQueued = config.DefaultMaxQueuedChecks
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = 10 * time.Second
	}
	if c.Retry == (resilience.Policy{}) {
		c.Retry = resilience.Policy{InitialInterval: 500 * time.Millisecond, MaxInterval: 5 * time.Second, MaxElapsed: 20 * time.Second,
			MaxAttempts: 3, Multiplier: 2, RandomizationFactor: 0.5, MaxRetryAfter: 20 * time.Second}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.PublishTick <= 0 {
		c.PublishTick = DefaultPublishTick
	}
}

// DefaultPublishTick is Config.PublishTick's default: well below the lag
// anyone would notice in a check (the shortest spec interval is a minute),
// and at 2,000 checks/s about 100 slots per batch.
const DefaultPublishTick = 50 * time.Millisecond

// nextTick is the first multiple of tick (since the Unix epoch) at or after
// t: every replica wakes on the same boundaries.
func nextTick(t time.Time, tick time.Duration) time.Time {
	n := t.UnixNano()
	if r := n % int64(tick); r != 0 {
		n += int64(tick) - r
	}
	return time.Unix(0, n)
}

// Durable consumer names: replicas sharing them share the work.
const (
	durableChecks = "health-checks"
	durableTests  = "integration-tests"
)

// Routes is the health-scheduler's route table: the schedule publishes
// check commands, the workers consume them and the on-demand tests.
func Routes() []bus.Route { return bus.Declared((&service{}).routes()) }

// Access is what the health-scheduler does on the bus, from which its NATS
// identity's permissions are derived.
func Access() bus.Access {
	return bus.Access{Service: "health-scheduler", Routes: Routes(), Buckets: bus.BucketNames(buckets(1))}
}

// buckets are the scheduler's: the catalog it watches and the health it keeps.
func buckets(replicas int) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{catalog.IntegrationsBucket(replicas), catalog.HealthBucket(replicas)}
}

// routes is the table with s's handlers.
func (s *service) routes() []bus.Route {
	return []bus.Route{
		{Name: "schedule", Produces: []string{contracts.SubjectHealthCheckRequest + ".>"}},
		{Name: "health-check", Stream: bus.StreamCommands, Subject: contracts.SubjectHealthCheckRequest + ".>",
			Durable: durableChecks, Concurrency: s.cfg.Workers, Handler: s.handleCheck,
			Produces: []string{contracts.SubjectHealthChecked + ".>", contracts.SubjectHealthChanged + ".>"}},
		{Name: "integration-test", Stream: bus.StreamCommands, Subject: contracts.SubjectTestRequested + ".>",
			Durable: durableTests, Concurrency: 4, Handler: s.handleTest,
			Produces: []string{contracts.SubjectTestCompleted + ".>"}},
	}
}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Registry == nil {
		return errors.New("health-scheduler: no provider registry")
	}
	return startup.Run(ctx, startup.Spec{
		Name: "health-scheduler", Bus: cfg.Bus, Logger: cfg.Logger, Ready: startup.Closer(cfg.Ready), Metrics: cfg.Metrics,
		Buckets: buckets,
		Wire:    func(_ context.Context, w *startup.Wiring) error { return wire(w, cfg) },
	})
}

// wire builds the scheduler's parts on w.
func wire(w *startup.Wiring, cfg Config) error {
	m := newMetrics(cfg.Metrics)
	breakers := resilience.NewBreakers(cfg.Breaker, cfg.Clock)
	if cfg.Metrics != nil {
		bm, err := breakermetrics.New(cfg.Metrics)
		if err != nil {
			return err
		}
		bm.Attach(breakers)
	}
	view := w.Catalog(cfg.Catalog)
	pool, stores := secrets.NewPool(secrets.PoolConfig{
		Registry: cfg.Registry, Base: cfg.Resolver, Policy: cfg.Policy,
		FindStore: view.FindStore, Clock: cfg.Clock, Logger: cfg.Logger,
	})
	w.Defer(pool.Close)
	svc := &service{
		cfg: cfg, logger: cfg.Logger, metrics: m,
		view: view, stores: stores,
		store: newHealthStore(w.Bucket(catalog.BucketHealth), cfg.FlapThreshold),
		run: &runner{pool: pool, retry: cfg.Retry, timeout: cfg.CheckTimeout, now: cfg.Clock,
			onRetry: func(code resilience.Code, _ time.Duration) { m.retries.WithLabelValues(string(code)).Inc() }},
		pool: pool, breakers: breakers,
	}
	table := svc.routes()
	svc.schedule = w.Bus.Publisher().For(table[0])
	svc.queue = &checkQueue{max: cfg.MaxQueued, every: time.Second, logger: cfg.Logger, gauge: m.queued,
		read: func(ctx context.Context) (uint64, error) {
			c, err := w.Bus.JetStream().Consumer(ctx, bus.StreamCommands, durableChecks)
			if err != nil {
				return 0, err
			}
			info := c.CachedInfo()
			return info.NumPending + uint64(max(info.NumAckPending, 0)), nil
		}}
	w.Routes(table)
	changes := make(chan catalog.Change, 1024)
	w.OnChange(view, func(ctx context.Context, c catalog.Change) {
		select {
		case changes <- c:
		case <-ctx.Done():
		}
	})
	if cfg.Metrics != nil {
		gauges := newHealthGauges(cfg.Clock)
		cfg.Metrics.MustRegister(gauges)
		w.Go("health gauges", func(ctx context.Context) error { return gauges.follow(ctx, w.Bucket(catalog.BucketHealth)) })
	}
	w.Go("schedule", func(ctx context.Context) error { return svc.scheduleLoop(ctx, changes) })
	w.ReadyLog(func() []any {
		return []any{"integrations", view.Len(), "workers", cfg.Workers, "flap_threshold", cfg.FlapThreshold}
	})
	return nil
}

// service holds the running parts.
type service struct {
	cfg    Config
	logger *slog.Logger
	// schedule publishes the check commands (the "schedule" route).
	schedule *bus.Producer
	// queue says when the check commands waiting are too many to add to.
	queue   *checkQueue
	metrics *metrics
	view    *catalog.View
	store   *healthStore
	run     *runner
	pool    *runtime.Pool
	// breakers hold one circuit breaker per integration, keyed by its id
	// (never by revision, so the metric series stay one per integration):
	// a new revision starts closed, a deleted integration's is dropped.
	breakers *resilience.Breakers
	stores   *credentials.Stores
}

// levels is what the schedule plans for an integration.
func (s *service) levels(it contracts.Integration) []contracts.CheckType {
	spec, ok := s.cfg.Registry.Lookup(it.TypeID)
	if !ok || spec.New == nil {
		return nil
	}
	return spec.CheckLevels
}

// scheduleLoop owns the schedule: applies catalog changes and publishes due
// slots. Every replica runs it; JetStream's dedupe on the slot id keeps one
// command per slot.
func (s *service) scheduleLoop(ctx context.Context, changes <-chan catalog.Change) error {
	sched := newSchedule(s.cfg.Intervals)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := s.cfg.Clock()
		if !s.cfg.DisableSchedule {
			if due := sched.due(now); len(due) > 0 {
				if s.queue.full(ctx, now) {
					for _, j := range due {
						s.metrics.skipped.WithLabelValues(string(j.checkType)).Inc()
					}
				} else {
					for _, j := range due {
						s.publishCheck(ctx, j.key, []contracts.CheckType{j.checkType}, strconv.FormatInt(j.slot, 10), j.slot, j.due())
					}
				}
			}
		}
		s.metrics.scheduled.Set(float64(sched.size()))
		wait := time.Hour
		if next := sched.next(); !next.IsZero() {
			wait = max(nextTick(next, s.cfg.PublishTick).Sub(s.cfg.Clock()), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case c := <-changes:
			s.apply(ctx, sched, c)
			// Drain what else is queued before recomputing the timer.
			for drained := false; !drained; {
				select {
				case c := <-changes:
					s.apply(ctx, sched, c)
				default:
					drained = true
				}
			}
		case <-timer.C:
		}
	}
}

// apply updates the schedule, the pool and the breakers for one change. A
// live create or update is checked at once (slot "r<revision>", deduped
// across replicas like any slot) instead of waiting for its first slot.
func (s *service) apply(ctx context.Context, sched *schedule, c catalog.Change) {
	tenant, id := c.TenantID, c.ID
	// A changed or deleted secret store drops the values read through it.
	s.stores.Invalidate(id)
	if c.Kind == catalog.Deleted {
		// Its breaker goes, and with it its metric series; a check still
		// running drops it again when it ends (handleCheck).
		s.breakers.Remove(id)
		sched.remove(c.Key())
		s.pool.Remove(tenant, id)
		if err := s.store.remove(ctx, c.Key()); err != nil {
			s.logger.Warn("health record not removed", "integration_id", id, "error", err.Error())
		}
		return
	}
	// The breaker is not touched here: the first check of the new revision
	// replaces it with a closed one (Breakers.At).
	levels := s.levels(c.Integration)
	sched.set(c.Integration, levels, s.cfg.Clock())
	if c.Live && !s.cfg.DisableSchedule && len(levels) > 0 {
		s.publishCheck(ctx, c.Key(), levels, fmt.Sprintf("r%d", c.Integration.Revision), 0, s.cfg.Clock())
	}
}

// The CloudEvents types of the two events published per check, set rather
// than derived from the subject on every publish.
var (
	typeCheckRequested = contracts.EventType(contracts.SubjectHealthCheckRequest)
	typeChecked        = contracts.EventType(contracts.SubjectHealthChecked)
)

// publishCheck publishes one check command covering levels, with
// <integrationId>:<levels joined by "+">:<slotID> as Nats-Msg-Id: every
// replica derives the same id for the same slot, and JetStream stores one.
// A scheduled slot is one level (<integrationId>:<checkType>:<slot>, the
// command without checkTypes); the check of a new revision is all its
// levels in one command (slot "r<revision>"), run in order on one worker
// and recorded in one write.
func (s *service) publishCheck(ctx context.Context, key string, levels []contracts.CheckType, slotID string, slot int64, due time.Time) {
	tenant, id, _ := strings.Cut(key, ".")
	ct := levels[0]
	cmd := contracts.HealthCheckRequested{TenantID: tenant, IntegrationID: id, CheckType: ct, Slot: slot, ScheduledAt: due.UTC()}
	if len(levels) > 1 {
		cmd.CheckTypes = levels
	}
	ev := bus.Event{
		ID:      id + ":" + joinLevels(levels) + ":" + slotID,
		Subject: contracts.Subject(contracts.SubjectHealthCheckRequest, tenant, id), Type: typeCheckRequested,
		TenantID: tenant, DataSubject: id, Data: cmd,
	}
	_, err := s.schedule.PublishAsync(ctx, ev)
	// A full window of unacknowledged publishes means the stream stores
	// slower than we schedule: wait for room (the lag shows it) rather
	// than drop the slot.
	for errors.Is(err, jetstream.ErrTooManyStalledMsgs) && ctx.Err() == nil {
		_, err = s.schedule.PublishAsync(ctx, ev)
	}
	if err != nil {
		s.logger.Warn("check not published", "integration_id", id, "check", ct, "error", err.Error())
		return
	}
	// Lag is taken after the publish, not at the loop's wake-up: a slot late
	// because the ones before it in the same batch were slow is late.
	published := s.cfg.Clock()
	s.metrics.published.Inc()
	s.metrics.lag.Observe(published.Sub(due).Seconds())
	if s.cfg.OnPublished != nil {
		s.cfg.OnPublished(due, published)
	}
}

// joinLevels is the levels part of a check command's id: the level, or
// the levels joined by "+".
func joinLevels(levels []contracts.CheckType) string {
	if len(levels) == 1 {
		return string(levels[0])
	}
	var b strings.Builder
	for i, ct := range levels {
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteString(string(ct))
	}
	return b.String()
}

// checkedID is the id of the health.checked event of level ct of the check
// command with id cmdID (<integrationId>:<levels>:<slot>): the command's id
// plus ":checked" for a one-level command, and for a command covering
// several levels the id its level's own command would have had, plus
// ":checked", so each level's event is deduped on its own.
func checkedID(cmdID string, levels []contracts.CheckType, ct contracts.CheckType) string {
	if len(levels) == 1 {
		return cmdID + ":checked"
	}
	id, rest, _ := strings.Cut(cmdID, ":")
	_, slot, _ := strings.Cut(rest, ":")
	return id + ":" + string(ct) + ":" + slot + ":checked"
}

// handleCheck runs the levels of one check command in order and records
// their results in one write of the health record; it publishes one
// health.checked per level and at most one health.changed.
func (s *service) handleCheck(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	cmd, err := bus.Decode[contracts.HealthCheckRequested](m)
	if err != nil {
		return err
	}
	// A miss of the view reads the bucket: a watch lagging after a
	// reconnect must not drop the check.
	it, ok, err := s.view.Lookup(ctx, cmd.TenantID, cmd.IntegrationID)
	if err != nil {
		return err
	}
	if !ok {
		return nil // deleted since it was scheduled
	}
	breaker := s.breakers.At(it.ID, it.Revision)
	// A check that began before its integration was deleted may have made
	// the breaker again after the delete dropped it: drop it once more.
	// These checks of the view ask only whether it is there and of which
	// revision (Revision): Get would decode its config and labels each time.
	defer func() {
		if _, ok := s.view.Revision(it.TenantID, it.ID); !ok {
			s.breakers.Remove(it.ID)
		}
	}()
	levels := cmd.Levels()
	outs := s.run.scheduledChecks(ctx, it, levels, breaker)
	for _, o := range outs {
		s.metrics.checks.WithLabelValues(string(o.res.CheckType), string(o.res.Status)).Inc()
	}
	// A result is recorded only for the revision that is still current: the
	// result of a config that was just replaced says nothing about the new one.
	current := func() bool {
		rev, ok := s.view.Revision(it.TenantID, it.ID)
		return ok && rev == it.Revision
	}
	// The integration's record stays locked until this result's events are
	// out: another worker of this replica recording a later result of the
	// same integration (the next revision's check, say) announces its
	// change after this one's, in the order the record went through them.
	defer s.store.lock(it.TenantID + "." + it.ID)()
	// A new revision's command (slot 0) of an integration never updated
	// since its create is most likely its first check: no record to read.
	fresh := cmd.Slot == 0 && it.CreatedAt.Equal(it.UpdatedAt)
	tr, err := s.store.recordLocked(ctx, it, outs, breaker.State().String(), current, fresh)
	if err != nil {
		return err
	}
	if _, ok := s.view.Revision(it.TenantID, it.ID); !ok {
		// Deleted while we wrote: the delete's own cleanup may have run
		// before our write, so clean up after ourselves too.
		return s.store.remove(ctx, it.TenantID+"."+it.ID)
	}
	for _, o := range outs {
		if _, err := out.Publish(ctx, bus.Event{
			ID: checkedID(m.ID, levels, o.res.CheckType), Subject: contracts.Subject(contracts.SubjectHealthChecked, it.TenantID, it.ID), Type: typeChecked,
			TenantID: it.TenantID, DataSubject: it.ID, Data: contracts.HealthChecked{TenantID: it.TenantID, Result: o.res},
		}); err != nil {
			return err
		}
	}
	if tr.previous == tr.current {
		return nil
	}
	s.logger.InfoContext(ctx, "integration health changed", "tenant_id", it.TenantID, "integration_id", it.ID,
		"provider", it.TypeID, "from", tr.previous, "to", tr.current, "error_code", tr.cause.ErrorCode)
	_, err = out.Publish(ctx, bus.Event{
		ID: fmt.Sprintf("%s:changed:%d", it.ID, tr.revision), Subject: contracts.Subject(contracts.SubjectHealthChanged, it.TenantID, it.ID),
		TenantID: it.TenantID, DataSubject: it.ID,
		Data: contracts.HealthChanged{
			TenantID: it.TenantID, IntegrationID: it.ID, TypeID: it.TypeID, Name: it.Name, Labels: it.Labels,
			Previous: tr.previous, Current: tr.current, Reason: tr.cause.Message, ErrorCode: tr.cause.ErrorCode, ChangedAt: outs[len(outs)-1].res.CheckedAt,
		},
	})
	return err
}

// handleTest runs an on-demand test and publishes its result.
func (s *service) handleTest(ctx context.Context, m *bus.Message, out *bus.Producer) error {
	req, err := bus.Decode[contracts.TestRequested](m)
	if err != nil {
		return err
	}
	done := contracts.TestCompleted{RequestID: req.RequestID, TenantID: req.TenantID, IntegrationID: req.IntegrationID}
	// A miss of the view reads the bucket (a create a moment ago, a watch
	// lagging after a reconnect): not found is the bucket's answer, and a
	// bucket that cannot be read is retried, never reported as not found.
	it, ok, err := s.view.Lookup(ctx, req.TenantID, req.IntegrationID)
	if err != nil {
		return err
	}
	if !ok {
		msg := "integration not found"
		done.Data.ConnectivityTest = contracts.TestStep{Status: "failed", ErrorCode: string(resilience.IntegrationNotFound), Message: msg}
		done.Data.AuthenticationTest = contracts.TestStep{Status: "skipped"}
		done.Data.FunctionalityTest = contracts.TestStep{Status: "skipped"}
	} else {
		done.Data, done.Success = s.run.test(ctx, it)
	}
	done.CompletedAt = s.cfg.Clock().UTC()
	s.metrics.tests.WithLabelValues(fmt.Sprint(done.Success)).Inc()
	_, err = out.Publish(ctx, bus.Event{
		ID: "test:" + req.RequestID, Subject: contracts.Subject(contracts.SubjectTestCompleted, req.TenantID, req.IntegrationID),
		TenantID: req.TenantID, DataSubject: req.IntegrationID, Data: done,
	})
	return err
}

type metrics struct {
	published prometheus.Counter
	lag       prometheus.Histogram
	scheduled prometheus.Gauge
	checks    *prometheus.CounterVec
	retries   *prometheus.CounterVec
	tests     *prometheus.CounterVec
	skipped   *prometheus.CounterVec
	queued    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "inthub_health_checks_scheduled_total", Help: "Check commands published by this replica."}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "inthub_health_schedule_lag_seconds", Help: "Delay between a slot's due time and its publish.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		scheduled: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inthub_health_schedule_jobs", Help: "Check jobs in the schedule."}),
		checks:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inthub_health_checks_total", Help: "Checks run, by type and status."}, []string{"check", "status"}),
		retries:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inthub_health_check_retries_total", Help: "Check attempts retried, by error code."}, []string{"code"}),
		tests:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inthub_integration_tests_total", Help: "On-demand tests run, by success."}, []string{"success"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "inthub_health_checks_skipped_total",
			Help: "Scheduled slots not published because the check queue held INTHUB_CHECK_MAX_QUEUED commands, by check type."}, []string{"check"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "inthub_health_check_queue",
			Help: "Check commands waiting or running at the schedule's last reading of the queue."}),
	}
	// Every check type and status exported from the start, so rates and
	// alerts have their series before the first check.
	for _, ct := range []contracts.CheckType{contracts.CheckConnectivity, contracts.CheckAuthentication, contracts.CheckFunctionality} {
		for _, st := range []contracts.HealthStatus{contracts.HealthHealthy, contracts.HealthDegraded, contracts.HealthUnhealthy} {
			m.checks.WithLabelValues(string(ct), string(st))
		}
	}
	for _, ct := range []contracts.CheckType{contracts.CheckConnectivity, contracts.CheckAuthentication, contracts.CheckFunctionality} {
		m.skipped.WithLabelValues(string(ct))
	}
	for _, code := range resilience.Codes {
		if resilience.StrategyFor(code) != resilience.NoRetry {
			m.retries.WithLabelValues(string(code))
		}
	}
	if reg != nil {
		reg.MustRegister(m.published, m.lag, m.scheduled, m.checks, m.retries, m.tests, m.skipped, m.queued)
	}
	return m
}
