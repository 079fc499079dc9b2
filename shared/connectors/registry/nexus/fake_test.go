package nexus

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/nexus/nexusfake"
)

// The fake is nexusfake's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	username = nexusfake.Username
	password = nexusfake.Password
	repoName = nexusfake.RepoName
)

type fakeNexus struct {
	*nexusfake.Fake
	srv *httptest.Server
}

func newFakeNexus(t testing.TB, registry string, components []version) *fakeNexus {
	f := nexusfake.Start(t, registry, components)
	return &fakeNexus{Fake: f, srv: f.Server}
}

type version = nexusfake.Version

const pageSize = nexusfake.PageSize

func versions(images []string, tags ...string) []version { return nexusfake.Versions(images, tags...) }

func (f *fakeNexus) token(offset int) string { return f.Token(offset) }
