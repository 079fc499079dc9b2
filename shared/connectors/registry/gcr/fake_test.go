package gcr

import (
	"net/http/httptest"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/gcpauth/gcpfake"

	"github.com/stella-ops/inthub/shared/connectors/registry/gcr/gcrfake"
)

// The fake is gcrfake's (the CLI's tests run against it too); these names
// keep the package's tests as they were.
const (
	project     = gcrfake.Project
	location    = gcrfake.Location
	repository  = gcrfake.Repository
	email       = gcrfake.Email
	accessToken = gcrfake.AccessToken
)

type fakeGAR struct {
	*gcrfake.Fake
	srv    *httptest.Server
	issuer *gcpfake.Issuer
}

func newFakeGAR(t testing.TB, registry string, images []string) *fakeGAR {
	f := gcrfake.Start(t, registry, images)
	return &fakeGAR{Fake: f, srv: f.Server, issuer: f.Issuer}
}

func pageToken(offset int) string { return gcrfake.PageToken(offset) }
