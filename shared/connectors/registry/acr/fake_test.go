package acr

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/azauth/entrafake"
	"github.com/stella-ops/inthub/shared/connectors/registry/acr/acrtest"
)

// The fake is acrtest's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	adminUser    = acrtest.AdminUser
	adminPass    = acrtest.AdminPass
	refreshToken = acrtest.RefreshToken
	tenant       = acrtest.Tenant
	clientID     = acrtest.ClientID
	clientSecret = acrtest.ClientSecret
)

type fakeACR struct {
	*acrtest.Fake
	srv *httptest.Server
}

func newFakeACR(t testing.TB, registry string, repos []string, entra *entrafake.Entra) *fakeACR {
	f := acrtest.Start(t, registry, repos, entra)
	return &fakeACR{Fake: f, srv: f.Server}
}

func (f *fakeACR) host() string { return f.Host() }

func (f *fakeACR) throttle(seconds int) { f.Throttle(seconds) }
