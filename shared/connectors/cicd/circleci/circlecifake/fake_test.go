package circlecifake_test

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci"
	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci/circlecifake"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// TestServer holds the fake to what cicdtest.Server promises the flow test:
// its Integration builds a working connector, each Pipeline's runs pass
// queued → running → that verdict one state per read, and Started reports
// the runs and the last one's parameters.
func TestServer(t *testing.T) {
	t.Parallel()
	for _, verdict := range []contracts.PipelineRunStatus{contracts.RunSucceeded, contracts.RunFailed} {
		t.Run(string(verdict), func(t *testing.T) {
			t.Parallel()
			var s cicdtest.Server = circlecifake.Start(t)
			cfg, secret := s.Integration("env://INTHUB_TEST_CRED")
			conn := connectortest.NewConnector(t, connectortest.Setup{Spec: circleci.Spec, URL: s.URL(), Config: cfg, EnvVar: "CIRCLECI_FAKE_CRED", Secret: secret})
			tr, _ := connectors.AsTriggerer(conn)
			rf, _ := connectors.AsRunFollower(conn)
			ctx := connectortest.Context(t, 20*time.Second)
			pipeline := s.Pipeline(verdict)
			run, err := tr.Trigger(ctx, pipeline, s.Ref(), map[string]string{"target": "prod"})
			if err != nil {
				t.Fatal(err)
			}
			var seen []contracts.PipelineRunStatus
			for range 3 {
				st, err := rf.RunStatus(ctx, run)
				if err != nil {
					t.Fatal(err)
				}
				run, seen = st.Ref, append(seen, st.Status)
			}
			if want := []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, verdict}; !slices.Equal(seen, want) {
				t.Fatalf("states %v, want %v", seen, want)
			}
			if n, params := s.Started(pipeline); n != 1 || !maps.Equal(params, map[string]string{"target": "prod"}) {
				t.Fatalf("Started = %d, %v", n, params)
			}
		})
	}
}
