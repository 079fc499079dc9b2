package quay

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/quay/quayfake"
)

// The fake is quayfake's (the CLI's tests run against it too); these
// names keep the package's tests as they were.
const (
	apiToken  = quayfake.APIToken
	namespace = quayfake.Namespace
)

type fakeQuay struct {
	*quayfake.Fake
	srv *httptest.Server
}

func newFakeQuay(t testing.TB, registry string, repos []string, pageSize int) *fakeQuay {
	f := quayfake.Start(t, registry, repos, pageSize)
	return &fakeQuay{Fake: f, srv: f.Server}
}

func (f *fakeQuay) throttle(seconds int) { f.Throttle(seconds) }

func pageToken(offset int) string { return quayfake.PageToken(offset) }
