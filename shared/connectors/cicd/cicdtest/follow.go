package cicdtest

import (
	"context"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Followed is what FollowRun saw.
type Followed struct {
	// Seen are the states read, each change once, in order.
	Seen []contracts.PipelineRunStatus
	// Last is the last state read; Last.Ref is the run's last Ref.
	Last connectors.RunState
}

// FollowRun follows run as the pipeline runner does: each read with the
// Ref the last one returned, until a final state or 10 reads. Whenever a
// read is in cancelAt ("" never) and its Ref names a run (GitHub's
// dispatch names none until the run is listed), it cancels the run. each,
// if not nil, sees every state read (to check a provider's jobs on the
// way). Any error fails t; no error text may hold any of secrets.
func FollowRun(t testing.TB, ctx context.Context, c connectors.RunFollower, run connectors.RunRef, cancelAt contracts.PipelineRunStatus,
	secrets []string, each func(connectors.RunState)) Followed {
	t.Helper()
	var out Followed
	for range 10 {
		st, err := c.RunStatus(ctx, run)
		connectortest.CheckCode(t, err, "", secrets...)
		out.Last, run = st, st.Ref
		if len(out.Seen) == 0 || out.Seen[len(out.Seen)-1] != st.Status {
			out.Seen = append(out.Seen, st.Status)
		}
		if each != nil {
			each(st)
		}
		if st.Status.Final() {
			break
		}
		if st.Status == cancelAt && run.ID != "" {
			connectortest.CheckCode(t, c.CancelRun(ctx, run), "", secrets...)
		}
	}
	return out
}

// What a refusal covers: reading the run, or reading and cancelling it.
const (
	Read          = false
	ReadAndCancel = true
)

// Refuses checks that c refuses every one of refs with code want: its
// RunStatus and, with ReadAndCancel, its CancelRun. No error text may hold
// any of secrets.
func Refuses(t testing.TB, ctx context.Context, c connectors.RunFollower, cancel bool, want resilience.Code, secrets []string, refs ...connectors.RunRef) {
	t.Helper()
	for _, ref := range refs {
		_, err := c.RunStatus(ctx, ref)
		connectortest.CheckCode(t, err, want, secrets...)
		if cancel {
			connectortest.CheckCode(t, c.CancelRun(ctx, ref), want, secrets...)
		}
	}
}
