package ghcr

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/ghcr/ghcrfake"
)

// The fake is ghcrfake's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	pat       = ghcrfake.Pat
	org       = ghcrfake.Org
	namespace = ghcrfake.Namespace
	user      = ghcrfake.User
)

type fakeGitHub struct {
	*ghcrfake.Fake
	srv *httptest.Server
}

func newFakeGitHub(t testing.TB, registry string, packages []string) *fakeGitHub {
	f := ghcrfake.Start(t, registry, packages)
	return &fakeGitHub{Fake: f, srv: f.Server}
}

func (f *fakeGitHub) throttle(seconds int) { f.Throttle(seconds) }
