// Package cicdtest is what a CI provider's fake offers the pipeline flow
// test: the test in services/devstack that drives every CI provider the hub
// ships through the real pipeline-runner on the bus (trigger with
// parameters, one pipeline.run.started, each transition once, one
// pipeline.run.completed with the right verdict, cancel, a retried trigger
// starting one run). Each provider's fake lives in an exported package
// (<provider>/<provider>fake) so that test can start it, and implements
// Server; the table of providers there names one Server constructor each.
package cicdtest

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/contracts"
)

// Server is a provider's fake CI server, started by its package's
// constructor (which closes it with t.Cleanup).
//
// A run the fake starts moves one state per read of its status by the
// connector: queued (or pending) first, then running, then the verdict of
// its pipeline; the flow test asserts exactly the transitions
// queued → running → verdict, so a fake whose provider has no queued state
// reports its first state as queued through the connector's mapping.
type Server interface {
	// URL is the fake's base URL, as the provider's config field takes it.
	URL() string
	// Integration is the config of an integration the fake accepts,
	// with the secret (raw value of the credential reference) to store
	// under the config's credential reference name cred.
	Integration(cred string) (config map[string]any, secret string)
	// Pipeline names a pipeline (as Trigger takes it) whose runs end
	// with verdict (contracts.RunSucceeded or contracts.RunFailed).
	Pipeline(verdict contracts.PipelineRunStatus) string
	// Ref is the ref Trigger is given for the fake's pipelines ("" where
	// the provider takes none).
	Ref() string
	// Started reports how many runs of pipeline the fake started and
	// the parameters the last one was given.
	Started(pipeline string) (runs int, params map[string]string)
}

// Parameters are the parameters the flow test triggers every pipeline
// with: a fake's pipelines must accept them (declare them where the
// provider refuses undeclared ones) and Started must return them.
func Parameters() map[string]string { return map[string]string{"VERSION": "1.2.3"} }

// Provider is one row of the flow test's table.
type Provider struct {
	// ID is the provider's type id.
	ID string
	// Start starts the provider's fake.
	Start func(t *testing.T) Server
}

// CheckServer holds the fake start starts to what Server promises the flow
// test, for each verdict: its Integration builds a working connector of
// spec, each Pipeline's runs pass queued → running → that verdict one state
// per read (each read with the Ref the last one returned), and Started
// reports one run with params, which a trigger gave it. Every fake's own
// test calls it, so a fake that breaks the promise fails in its package.
func CheckServer(t *testing.T, spec *connectors.Spec, start func(*testing.T) Server, params map[string]string) {
	t.Helper()
	for _, verdict := range []contracts.PipelineRunStatus{contracts.RunSucceeded, contracts.RunFailed} {
		t.Run(string(verdict), func(t *testing.T) {
			t.Parallel()
			srv := start(t)
			const env = "CICDTEST_CRED"
			config, secret := srv.Integration("env://" + env)
			conn := connectortest.NewConnector(t, connectortest.Setup{Spec: spec, URL: srv.URL(), Config: config, EnvVar: env, Secret: secret})
			tr, ok := connectors.AsTriggerer(conn)
			if !ok {
				t.Fatalf("%s triggers no runs", spec.ID)
			}
			rf, ok := connectors.AsRunFollower(conn)
			if !ok {
				t.Fatalf("%s follows no runs", spec.ID)
			}
			ctx := func() context.Context { return connectortest.CallContext(t) }
			pipeline := srv.Pipeline(verdict)
			run, err := tr.Trigger(ctx(), pipeline, srv.Ref(), params)
			if err != nil {
				t.Fatalf("Trigger(%s): %v", pipeline, err)
			}
			var seen []contracts.PipelineRunStatus
			for range 10 {
				st, err := rf.RunStatus(ctx(), run)
				if err != nil {
					t.Fatalf("RunStatus(%+v): %v", run, err)
				}
				run, seen = st.Ref, append(seen, st.Status)
				if st.Status.Final() {
					break
				}
			}
			if want := []contracts.PipelineRunStatus{contracts.RunQueued, contracts.RunRunning, verdict}; !slices.Equal(seen, want) {
				t.Fatalf("states %v, want %v (one state per read)", seen, want)
			}
			if n, got := srv.Started(pipeline); n != 1 || !maps.Equal(got, params) {
				t.Fatalf("Started(%s) = %d, %v; want 1, %v", pipeline, n, got, params)
			}
		})
	}
}
