package dockerhub

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/dockerhub/dockerhubtest"
)

// The fake is dockerhubtest's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	hubUser   = dockerhubtest.HubUser
	hubPAT    = dockerhubtest.HubPAT
	namespace = dockerhubtest.Namespace
)

type fakeHub struct {
	*dockerhubtest.Fake
	srv *httptest.Server
}

func newFakeHub(t testing.TB, registry string, repos []fakeRepo) *fakeHub {
	f := dockerhubtest.Start(t, registry, repos)
	return &fakeHub{Fake: f, srv: f.Server}
}

type fakeRepo = dockerhubtest.Repo

func (f *fakeHub) throttle(seconds int) { f.Throttle(seconds) }
