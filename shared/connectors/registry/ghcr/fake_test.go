package ghcr

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/ghcr/ghcrtest"
)

// The fake is ghcrtest's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	pat       = ghcrtest.Pat
	org       = ghcrtest.Org
	namespace = ghcrtest.Namespace
	user      = ghcrtest.User
)

type fakeGitHub struct {
	*ghcrtest.Fake
	srv *httptest.Server
}

func newFakeGitHub(t testing.TB, registry string, packages []string) *fakeGitHub {
	f := ghcrtest.Start(t, registry, packages)
	return &fakeGitHub{Fake: f, srv: f.Server}
}

func (f *fakeGitHub) throttle(seconds int) { f.Throttle(seconds) }
