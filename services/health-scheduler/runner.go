package healthscheduler

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/runtime"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// runner runs check levels against an integration's connector. It has no
// bus in it: the handlers feed it and publish what it returns.
type runner struct {
	// onRetry is told of every retry (code, wait) for metrics.
	onRetry func(code resilience.Code, wait time.Duration)
	pool    *runtime.Pool
	retry   resilience.Policy
	timeout time.Duration
	now     func() time.Time
}

// levelFunc returns the Checker method of a level.
func levelFunc(c connectors.Checker, ct contracts.CheckType) func(context.Context) error {
	switch ct {
	case contracts.CheckConnectivity:
		return c.CheckConnectivity
	case contracts.CheckAuthentication:
		return c.CheckAuthentication
	default:
		return c.CheckFunctionality
	}
}

// checker returns the integration's Checker, or a coded error.
func (r *runner) checker(ctx context.Context, it contracts.Integration) (connectors.Checker, *connectors.Spec, error) {
	conn, spec, err := r.pool.Get(ctx, it)
	if err != nil {
		return nil, nil, err
	}
	c, ok := connectors.AsChecker(conn)
	if !ok {
		return nil, spec, resilience.New(resilience.NotSupported, "provider %s has no health checks", spec.ID)
	}
	return c, spec, nil
}

// scheduledCheck runs one scheduled check: through the integration's circuit
// breaker (an open breaker answers at once, sparing the remote), with retries
// by error code inside it, as many as the integration's "retries" field.
func (r *runner) scheduledCheck(ctx context.Context, it contracts.Integration, ct contracts.CheckType, breaker *resilience.Breaker) (contracts.HealthCheckResult, error) {
	start := r.now()
	err := breaker.Do(ctx, func(ctx context.Context) error {
		c, spec, err := r.checker(ctx, it)
		if err != nil {
			return err
		}
		if !slices.Contains(spec.CheckLevels, ct) {
			return nil
		}
		fn := levelFunc(c, ct)
		policy := connectors.NewValues(spec, it.Config).RetryPolicy(r.retry)
		return resilience.Do(ctx, policy, func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, r.timeout)
			defer cancel()
			return fn(ctx)
		}, resilience.WithNotify(func(err error, wait time.Duration) {
			if r.onRetry != nil {
				r.onRetry(resilience.CodeOf(err), wait)
			}
		}))
	})
	return r.result(it, ct, start, err), err
}

// scheduledChecks runs the levels of one command in order, each as a
// scheduledCheck through the same breaker: a level's failure counts towards
// opening it before the next level runs, as the same levels on three
// commands would.
func (r *runner) scheduledChecks(ctx context.Context, it contracts.Integration, levels []contracts.CheckType, breaker *resilience.Breaker) []outcome {
	outs := make([]outcome, len(levels))
	for i, ct := range levels {
		res, err := r.scheduledCheck(ctx, it, ct, breaker)
		outs[i] = outcome{res: res, refused: errors.Is(err, resilience.ErrCircuitOpen)}
	}
	return outs
}

// result builds the HealthCheckResult of one outcome.
func (r *runner) result(it contracts.Integration, ct contracts.CheckType, start time.Time, err error) contracts.HealthCheckResult {
	res := contracts.HealthCheckResult{
		IntegrationID: it.ID, CheckType: ct, Status: statusOf(err),
		LatencyMs: r.now().Sub(start).Milliseconds(), CheckedAt: r.now().UTC(),
	}
	if err != nil {
		res.ErrorCode = string(resilience.CodeOf(err))
		res.Message = resilience.MessageOf(err)
	}
	return res
}

// test runs the three levels once each, in order, for an on-demand test: no
// retries and no breaker, because an operator asking wants the remote's
// answer now. A level after a failed one is skipped. The context is marked
// on demand, so connectors may do what a scheduled check must not (a
// webhook's signed test delivery).
func (r *runner) test(ctx context.Context, it contracts.Integration) (contracts.TestResultData, bool) {
	ctx = connectors.OnDemand(ctx)
	steps := map[contracts.CheckType]*contracts.TestStep{}
	var data contracts.TestResultData
	steps[contracts.CheckConnectivity] = &data.ConnectivityTest
	steps[contracts.CheckAuthentication] = &data.AuthenticationTest
	steps[contracts.CheckFunctionality] = &data.FunctionalityTest
	c, spec, err := r.checker(ctx, it)
	failed := err != nil
	for _, ct := range contracts.CheckTypes {
		step := steps[ct]
		switch {
		case err != nil && ct == contracts.CheckConnectivity:
			*step = contracts.TestStep{Status: "failed", ErrorCode: string(resilience.CodeOf(err)), Message: resilience.MessageOf(err)}
			continue
		case failed || !slices.Contains(spec.CheckLevels, ct):
			*step = contracts.TestStep{Status: "skipped"}
			continue
		}
		start := r.now()
		cctx, cancel := context.WithTimeout(ctx, r.timeout)
		cerr := levelFunc(c, ct)(cctx)
		cancel()
		*step = contracts.TestStep{Status: "passed", LatencyMs: r.now().Sub(start).Milliseconds()}
		if cerr != nil {
			failed = true
			step.Status, step.ErrorCode, step.Message = "failed", string(resilience.CodeOf(cerr)), resilience.MessageOf(cerr)
		}
	}
	return data, !failed
}
