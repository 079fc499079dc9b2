package ecr

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/ecr/ecrtest"
)

// The fake is ecrtest's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	keyID      = ecrtest.KeyID
	keySecret  = ecrtest.KeySecret
	account    = ecrtest.Account
	region     = ecrtest.Region
	ecrUser    = ecrtest.ECRUser
	ecrPasswd  = ecrtest.ECRPassword
	targetPref = ecrtest.TargetPref
)

type fakeECR struct {
	*ecrtest.Fake
	srv *httptest.Server
}

func newFakeECR(t testing.TB, registry string, repos []string) *fakeECR {
	f := ecrtest.Start(t, registry, repos)
	return &fakeECR{Fake: f, srv: f.Server}
}

func (f *fakeECR) setThrottle(on bool) { f.SetThrottle(on) }
