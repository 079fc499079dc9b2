package jfrog

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/jfrog/jfrogfake"
)

// The fake is jfrogfake's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	accessToken = jfrogfake.AccessToken
	username    = jfrogfake.Username
	repoKey     = jfrogfake.RepoKey
)

type fakeArtifactory struct {
	*jfrogfake.Fake
	srv *httptest.Server
}

func newFakeArtifactory(t testing.TB, registry string, images []string) *fakeArtifactory {
	f := jfrogfake.Start(t, registry, images)
	return &fakeArtifactory{Fake: f, srv: f.Server}
}

func (f *fakeArtifactory) throttle(seconds int) { f.Throttle(seconds) }
