package drone

import (
	"maps"
	"slices"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/cicd/drone/dronefake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestFakeServesThePipelineFlow drives the fake through cicdtest.Server
// alone, as the pipeline flow test does: the integration it names, a run
// of the pipeline of each verdict with parameters, exactly the states
// queued → running → verdict, and Started reporting the run.
func TestFakeServesThePipelineFlow(t *testing.T) {
	t.Parallel()
	for _, verdict := range []contracts.PipelineRunStatus{contracts.RunSucceeded, contracts.RunFailed} {
		t.Run(string(verdict), func(t *testing.T) {
			t.Parallel()
			var srv cicdtest.Server = dronefake.New(t)
			config, secret := srv.Integration("FLOW")
			c := connectortest.NewConnector(t, connectortest.Setup{Spec: Spec, URL: srv.URL(), Config: without(config, "url"), EnvVar: "FLOW", Secret: secret}).(*Connector)
			params := map[string]string{"RELEASE": "1.2.3"}
			pipeline := srv.Pipeline(verdict)
			run, err := c.Trigger(ctxT(t), pipeline, srv.Ref(), params)
			checkCode(t, err, "")
			var seen []contracts.PipelineRunStatus
			for range 10 {
				st, err := c.RunStatus(ctxT(t), run)
				checkCode(t, err, "")
				run = st.Ref
				if len(seen) == 0 || seen[len(seen)-1] != st.Status {
					seen = append(seen, st.Status)
				}
				if st.Status.Final() {
					break
				}
			}
			if want := []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, verdict}; !slices.Equal(seen, want) {
				t.Fatalf("states %v, want %v", seen, want)
			}
			if n, got := srv.Started(pipeline); n != 1 || !maps.Equal(got, params) {
				t.Fatalf("Started(%s) = %d, %v; want 1, %v", pipeline, n, got, params)
			}
		})
	}
}

// without is config less key (the setup sets the URL itself).
func without(config map[string]any, key string) map[string]any {
	out := maps.Clone(config)
	delete(out, key)
	return out
}
