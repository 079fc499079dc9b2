package dockerhub

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/dockerhub/dockerhubfake"
)

// The fake is dockerhubfake's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	hubUser   = dockerhubfake.HubUser
	hubPAT    = dockerhubfake.HubPAT
	namespace = dockerhubfake.Namespace
)

type fakeHub struct {
	*dockerhubfake.Fake
	srv *httptest.Server
}

func newFakeHub(t testing.TB, registry string, repos []fakeRepo) *fakeHub {
	f := dockerhubfake.Start(t, registry, repos)
	return &fakeHub{Fake: f, srv: f.Server}
}

type fakeRepo = dockerhubfake.Repo

func (f *fakeHub) throttle(seconds int) { f.Throttle(seconds) }
