package jfrog

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/jfrog/jfrogtest"
)

// The fake is jfrogtest's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	accessToken = jfrogtest.AccessToken
	username    = jfrogtest.Username
	repoKey     = jfrogtest.RepoKey
)

type fakeArtifactory struct {
	*jfrogtest.Fake
	srv *httptest.Server
}

func newFakeArtifactory(t testing.TB, registry string, images []string) *fakeArtifactory {
	f := jfrogtest.Start(t, registry, images)
	return &fakeArtifactory{Fake: f, srv: f.Server}
}

func (f *fakeArtifactory) throttle(seconds int) { f.Throttle(seconds) }
