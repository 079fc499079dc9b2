package acr

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/azauth/entrafake"
	"github.com/stella-ops/inthub/shared/connectors/registry/acr/acrfake"
)

// The fake is acrfake's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	adminUser    = acrfake.AdminUser
	adminPass    = acrfake.AdminPass
	refreshToken = acrfake.RefreshToken
	tenant       = acrfake.Tenant
	clientID     = acrfake.ClientID
	clientSecret = acrfake.ClientSecret
)

type fakeACR struct {
	*acrfake.Fake
	srv *httptest.Server
}

func newFakeACR(t testing.TB, registry string, repos []string, entra *entrafake.Entra) *fakeACR {
	f := acrfake.Start(t, registry, repos, entra)
	return &fakeACR{Fake: f, srv: f.Server}
}

func (f *fakeACR) host() string { return f.Host() }

func (f *fakeACR) throttle(seconds int) { f.Throttle(seconds) }
