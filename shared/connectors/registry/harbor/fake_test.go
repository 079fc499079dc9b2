package harbor

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/harbor/harbortest"
)

// The fake is harbortest's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	robotName   = harbortest.RobotName
	robotSecret = harbortest.RobotSecret
	project     = harbortest.Project
)

type fakeHarbor struct {
	*harbortest.Fake
	srv *httptest.Server
}

func newFakeHarbor(t testing.TB, registry string, repos []string) *fakeHarbor {
	f := harbortest.Start(t, registry, repos)
	return &fakeHarbor{Fake: f, srv: f.Server}
}

func (f *fakeHarbor) throttle(seconds int) { f.Throttle(seconds) }
