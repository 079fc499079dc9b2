package circlecifake_test

import (
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/cicd/cicdtest"
	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci"
	"github.com/stella-ops/inthub/shared/connectors/cicd/circleci/circlecifake"
)

// TestServer holds the fake to what cicdtest.Server promises the pipeline
// flow test (cicdtest.CheckServer): its Integration builds a working
// connector, each Pipeline's runs pass queued → running → that verdict one
// state per read, and Started reports the run and its parameters.
func TestServer(t *testing.T) {
	t.Parallel()
	cicdtest.CheckServer(t, circleci.Spec, func(t *testing.T) cicdtest.Server { return circlecifake.Start(t) }, map[string]string{"target": "prod"})
}
