package credentials

import (
	"errors"
	"strings"
	"testing"

	"github.com/stella-ops/inthub/shared/resilience"
)

const (
	certPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	keyPEM  = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
	saJSON  = `{"type":"service_account","client_email":"hub@p.iam.gserviceaccount.com","private_key":"` + distinctive + `"}`
)

func TestSecretAs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret Secret
		types  []string
		check  func(c Credential) bool
		ok     bool
	}{
		{"basic", Secret{"username": "u", "password": distinctive}, []string{TypeBasic}, func(c Credential) bool { return c.Password == distinctive }, true},
		{"basic from value", Secret{"value": "u:" + distinctive}, []string{TypeBasic}, func(c Credential) bool { return c.Username == "u" }, true},
		{"basic missing password", Secret{"username": "u"}, []string{TypeBasic}, nil, false},
		{"token", Secret{"access_token": distinctive}, []string{TypeToken}, func(c Credential) bool { return c.Token == distinctive }, true},
		{"basic or token picks token", Secret{"token": distinctive}, []string{TypeBasic, TypeToken}, func(c Credential) bool { return c.Type == TypeToken }, true},
		{"api-key", Secret{"api-key": distinctive}, []string{TypeAPIKey}, func(c Credential) bool { return c.APIKey == distinctive }, true},
		{"oauth2 client credentials", Secret{"clientId": "id", "clientSecret": distinctive, "scopes": "a b"}, []string{TypeOAuth2},
			func(c Credential) bool { return c.ClientSecret == distinctive && len(c.Scopes) == 2 }, true},
		{"oauth2 access token", Secret{"accessToken": distinctive}, []string{TypeOAuth2}, func(c Credential) bool { return c.AccessToken == distinctive }, true},
		{"oauth2 without secret", Secret{"clientId": "id"}, []string{TypeOAuth2}, nil, false},
		{"service account json value", Secret{"value": saJSON}, []string{TypeServiceAccount}, func(c Credential) bool { return len(c.ServiceAccountJSON) > 0 }, true},
		{"service account fields", Secret{"type": "service_account", "client_email": "e", "private_key": distinctive}, []string{TypeServiceAccount},
			func(c Credential) bool { return strings.Contains(string(c.ServiceAccountJSON), "client_email") }, true},
		{"service account k8s token", Secret{"token": distinctive}, []string{TypeServiceAccount}, func(c Credential) bool { return c.Token == distinctive }, true},
		{"service account garbage", Secret{"value": distinctive}, []string{TypeServiceAccount}, nil, false},
		{"certificate", Secret{"certificate": certPEM, "privateKey": keyPEM}, []string{TypeCertificate}, func(c Credential) bool { return c.PrivateKeyPEM == keyPEM }, true},
		{"certificate without key", Secret{"certificate": certPEM}, []string{TypeCertificate}, nil, false},
		{"unknown type", Secret{"value": distinctive}, []string{"kerberos"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := tc.secret.As(tc.types...)
			if tc.ok {
				if err != nil || !tc.check(c) {
					t.Fatalf("As(%v) = %+v, %v", tc.types, c.Type, err)
				}
				return
			}
			var cte *CredentialTypeError
			if !errors.As(err, &cte) || !errors.Is(err, ErrShape) || resilience.CodeOf(err) != resilience.InvalidConfig {
				t.Fatalf("error %v: want a CredentialTypeError, ErrShape, INVALID_CONFIG", err)
			}
			if strings.Contains(err.Error(), distinctive) {
				t.Fatalf("error holds a value: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestShapesCoverEveryType(t *testing.T) {
	t.Parallel()
	for _, ty := range []string{TypeBasic, TypeToken, TypeAPIKey, TypeOAuth2, TypeServiceAccount, TypeCertificate} {
		if Shapes[ty] == "" {
			t.Errorf("no documented shape for %s", ty)
		}
	}
}
