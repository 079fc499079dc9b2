package gcr

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/gcpauth/gcpfake"

	"github.com/stella-ops/inthub/shared/connectors/registry/gcr/gcrtest"
)

// The fake is gcrtest's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	project     = gcrtest.Project
	location    = gcrtest.Location
	repository  = gcrtest.Repository
	email       = gcrtest.Email
	accessToken = gcrtest.AccessToken
)

type fakeGAR struct {
	*gcrtest.Fake
	srv    *httptest.Server
	issuer *gcpfake.Issuer
}

func newFakeGAR(t testing.TB, registry string, images []string) *fakeGAR {
	f := gcrtest.Start(t, registry, images)
	return &fakeGAR{Fake: f, srv: f.Server, issuer: f.Issuer}
}

func pageToken(offset int) string { return gcrtest.PageToken(offset) }
