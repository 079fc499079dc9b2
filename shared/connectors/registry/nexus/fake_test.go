package nexus

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/nexus/nexustest"
)

// The fake is nexustest's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	username = nexustest.Username
	password = nexustest.Password
	repoName = nexustest.RepoName
)

type fakeNexus struct {
	*nexustest.Fake
	srv *httptest.Server
}

func newFakeNexus(t testing.TB, registry string, components []version) *fakeNexus {
	f := nexustest.Start(t, registry, components)
	return &fakeNexus{Fake: f, srv: f.Server}
}

type version = nexustest.Version

const pageSize = nexustest.PageSize

func versions(images []string, tags ...string) []version { return nexustest.Versions(images, tags...) }

func (f *fakeNexus) token(offset int) string { return f.Token(offset) }
