package kit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/connectortest"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

func TestFromSecret(t *testing.T) {
	t.Parallel()
	const (
		pw    = "pa:ss-w0rd-value"
		token = "tok-0123456789abcdef"
	)
	basicTok := []string{connectors.CredBasic, connectors.CredToken}
	tokKeyBasic := []string{connectors.CredToken, connectors.CredAPIKey, connectors.CredBasic}
	tests := []struct {
		name       string
		secret     credentials.Secret
		types      []string
		opts       []kit.AuthOption
		header     string
		value      string
		code       resilience.Code
		mustNotSay []string
	}{
		{"basic keys", credentials.Secret{"username": "u", "password": pw}, basicTok, nil, "Authorization", "Basic dTpwYTpzcy13MHJkLXZhbHVl", "", nil},
		{"token key", credentials.Secret{"token": token}, basicTok, nil, "Authorization", "Bearer " + token, "", nil},
		{"value as basic when basic comes first", credentials.Secret{"value": "u:" + pw}, basicTok, nil, "Authorization", "Basic dTpwYTpzcy13MHJkLXZhbHVl", "", nil},
		{"value as token when token comes first", credentials.Secret{"value": "u:" + pw}, tokKeyBasic, nil, "Authorization", "Bearer u:" + pw, "", nil},
		{"explicit basic keys beat the value shorthand", credentials.Secret{"username": "u", "password": pw, "value": token}, tokKeyBasic, nil,
			"Authorization", "Basic dTpwYTpzcy13MHJkLXZhbHVl", "", nil},
		{"api key in a named header", credentials.Secret{"apiKey": token}, []string{connectors.CredAPIKey},
			[]kit.AuthOption{kit.APIKeyAs(kit.Scheme{Header: "X-API-Key"})}, "X-Api-Key", token, "", nil},
		{"opsgenie scheme", credentials.Secret{"apiKey": token}, []string{connectors.CredAPIKey},
			[]kit.AuthOption{kit.APIKeyAs(kit.Scheme{Header: "Authorization", Prefix: "GenieKey "})}, "Authorization", "GenieKey " + token, "", nil},
		{"gitlab private token", credentials.Secret{"access_token": token}, []string{connectors.CredToken},
			[]kit.AuthOption{kit.TokenAs(kit.Scheme{Header: "PRIVATE-TOKEN"})}, "Private-Token", token, "", nil},
		{"pagerduty token scheme", credentials.Secret{"token": token}, []string{connectors.CredAPIKey, connectors.CredToken},
			[]kit.AuthOption{kit.TokenAs(kit.Scheme{Header: "Authorization", Prefix: "Token token="})}, "Authorization", "Token token=" + token, "", nil},
		{"api key default is bearer", credentials.Secret{"api_key": token}, tokKeyBasic, nil, "Authorization", "Bearer " + token, "", nil},
		{"no match", credentials.Secret{"clientSecret": pw}, basicTok, nil, "", "", resilience.InvalidConfig, []string{pw}},
		{"user without password", credentials.Secret{"username": "u"}, []string{connectors.CredBasic}, nil, "", "", resilience.InvalidConfig, nil},
		{"line break refused, never quoted", credentials.Secret{"token": "abc\r\nX-Evil: " + token}, basicTok, nil, "", "", resilience.InvalidConfig, []string{token, "abc"}},
		{"NUL refused", credentials.Secret{"apiKey": "k\x00" + token}, []string{connectors.CredAPIKey}, nil, "", "", resilience.InvalidConfig, []string{token}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := kit.FromSecret(tc.secret, "the test credentials", tc.types, tc.opts...)
			connectortest.CheckCode(t, err, tc.code, tc.mustNotSay...)
			if err != nil {
				for _, v := range tc.secret {
					if len(v) >= 4 && strings.Contains(err.Error(), v) {
						t.Fatalf("error quotes a secret value: %v", err)
					}
				}
				return
			}
			if a.Header == "" || !strings.EqualFold(a.Header, tc.header) || a.Value != tc.value {
				t.Fatalf("FromSecret = %q: %q, want %q: %q", a.Header, a.Value, tc.header, tc.value)
			}
		})
	}
}

type failingSource struct{ err error }

func (f failingSource) Resolve(context.Context, string) (credentials.Secret, error) {
	return nil, f.err
}

func TestCredentialResolution(t *testing.T) {
	t.Parallel()
	types := []string{connectors.CredToken}
	tests := []struct {
		name string
		src  connectors.CredentialSource
		ref  string
		code resilience.Code
		anon bool
	}{
		{"no reference is anonymous", nil, "", "", true},
		{"no source", nil, "env://X", resilience.CredentialFetchFailed, false},
		{"store down is retried", failingSource{errors.New("connection reset")}, "env://X", resilience.CredentialFetchFailed, false},
		{"refused reference keeps its code", failingSource{resilience.New(resilience.InvalidConfig, "not this tenant's")}, "env://X", resilience.InvalidConfig, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := kit.Credential(context.Background(), tc.src, tc.ref, "the test token", types)
			connectortest.CheckCode(t, err, tc.code)
			if tc.code == "" && a.IsZero() != tc.anon {
				t.Fatalf("Credential = %+v", a)
			}
		})
	}
}
