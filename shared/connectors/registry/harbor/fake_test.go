package harbor

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/harbor/harborfake"
)

// The fake is harborfake's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	robotName   = harborfake.RobotName
	robotSecret = harborfake.RobotSecret
	project     = harborfake.Project
)

type fakeHarbor struct {
	*harborfake.Fake
	srv *httptest.Server
}

func newFakeHarbor(t testing.TB, registry string, repos []string) *fakeHarbor {
	f := harborfake.Start(t, registry, repos)
	return &fakeHarbor{Fake: f, srv: f.Server}
}

func (f *fakeHarbor) throttle(seconds int) { f.Throttle(seconds) }
