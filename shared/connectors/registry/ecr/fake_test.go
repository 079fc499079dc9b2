package ecr

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/registry/ecr/ecrfake"
)

// The fake is ecrfake's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	keyID      = ecrfake.KeyID
	keySecret  = ecrfake.KeySecret
	account    = ecrfake.Account
	region     = ecrfake.Region
	ecrUser    = ecrfake.ECRUser
	ecrPasswd  = ecrfake.ECRPassword
	targetPref = ecrfake.TargetPref
)

type fakeECR struct {
	*ecrfake.Fake
	srv *httptest.Server
}

func newFakeECR(t testing.TB, registry string, repos []string) *fakeECR {
	f := ecrfake.Start(t, registry, repos)
	return &fakeECR{Fake: f, srv: f.Server}
}

func (f *fakeECR) setThrottle(on bool) { f.SetThrottle(on) }
