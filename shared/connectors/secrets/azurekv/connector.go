package azurekv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/azauth"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/httpx"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the azure-key-vault connector of one integration revision.
// It keeps access tokens (in the SDK's pipeline) but not the client secret:
// the secret is resolved each time a token is needed.
type Connector struct {
	vaultURL, canary string
	http             kit.Client
	cred             azcore.TokenCredential
	opts             azsecrets.ClientOptions

	mu     sync.Mutex
	client *azsecrets.Client
}

var (
	_ connectors.Checker      = (*Connector)(nil)
	_ connectors.SecretReader = (*Connector)(nil)
	_ credentials.LeaseReader = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	return newConnector(in, secrets.AmbientAllowed)
}

func newConnector(in connectors.Instance, ambient func() bool) (*Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	vaultURL, err := httpsURL("url", cfg.String("url"))
	if err != nil {
		return nil, err
	}
	c := &Connector{vaultURL: vaultURL, canary: cfg.String("canarySecret")}
	if c.canary != "" {
		if _, _, err := splitPath(c.canary); err != nil {
			return nil, err
		}
	}
	if c.http, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	authority, err := httpsURL("authorityHost", cfg.String("authorityHost"))
	if err != nil {
		return nil, err
	}
	client := azcore.ClientOptions{
		// The guarded client: the SSRF guard, timeout and TLS options apply
		// to the vault and to the token endpoint.
		Transport: c.http.HTTP.HTTPClient(),
		// Retrying is decided by code in resilience, not inside the SDK.
		Retry: policy.RetryOptions{MaxRetries: -1},
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: authority + "/"},
	}
	c.opts = azsecrets.ClientOptions{ClientOptions: client, DisableChallengeResourceVerification: cfg.Bool("skipChallengeResourceVerification")}
	tenantID, clientID := cfg.String("tenantId"), cfg.String("clientId")
	switch cfg.String("authMethod") {
	case AuthClientSecret:
		if !guid.MatchString(tenantID) || clientID == "" {
			return nil, resilience.New(resilience.InvalidConfig, "authMethod clientSecret needs config fields tenantId and clientId")
		}
		ref := in.Integration.CredentialRef
		if ref == "" {
			return nil, resilience.New(resilience.InvalidConfig, "authMethod clientSecret needs credentialRef: an env:// or file:// reference to the client secret")
		}
		if err := secrets.CheckLocalRef("credentialRef", ref); err != nil {
			return nil, err
		}
		c.cred = &azauth.ClientSecret{TenantID: tenantID, ClientID: clientID, Options: client, HTTP: c.http.HTTP,
			Resolve: func(ctx context.Context) (credentials.Secret, error) {
				return secrets.ResolveOwn(ctx, in.Credentials, "credentialRef", ref)
			}}
	case AuthManagedIdentity:
		if !ambient() {
			return nil, resilience.New(resilience.InvalidConfig,
				"authMethod managedIdentity acts as the hub's own identity; the operator has not allowed that (%s=true)", secrets.AmbientEnv)
		}
		// The identity endpoint is the platform's (IMDS, App Service), not
		// tenant input: the SDK's own transport reaches it, which the guard
		// would refuse as link-local.
		opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
		if clientID != "" {
			opts.ID = azidentity.ClientID(clientID)
		}
		if c.cred, err = azidentity.NewManagedIdentityCredential(opts); err != nil {
			return nil, resilience.New(resilience.InvalidConfig, "managed identity: %s", secrets.Detail(err.Error()))
		}
	default:
		return nil, resilience.New(resilience.InvalidConfig, "config field authMethod must be clientSecret or managedIdentity")
	}
	return c, nil
}

// httpsURL accepts an absolute https URL without user info, query or
// fragment: Entra ID tokens are only ever sent over TLS.
func httpsURL(field, raw string) (string, error) {
	u, err := kit.ParseBaseURL(field, raw, kit.HTTPSOnly())
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// vault returns the shared SDK client (its pipeline caches the token).
func (c *Connector) vault() (*azsecrets.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	client, err := c.newClient()
	if err == nil {
		c.client = client
	}
	return client, err
}

func (c *Connector) newClient() (*azsecrets.Client, error) {
	opts := c.opts
	client, err := azsecrets.NewClient(c.vaultURL, c.cred, &opts)
	if err != nil {
		return nil, resilience.New(resilience.InvalidConfig, "Azure Key Vault client: %s", secrets.Detail(err.Error()))
	}
	return client, nil
}

// Close drops the client and its cached token.
func (c *Connector) Close() error {
	c.mu.Lock()
	c.client = nil
	c.mu.Unlock()
	return nil
}

// splitPath reads <name> or <name>/<version>.
func splitPath(p string) (name, version string, err error) {
	if name, version, err = splitSecretPath(p); err != nil {
		return "", "", resilience.Wrap(resilience.InvalidConfig, err, "secret path")
	}
	return name, version, nil
}

// ReadSecret implements connectors.SecretReader.
func (c *Connector) ReadSecret(ctx context.Context, path string) (map[string]string, error) {
	s, err := c.read(ctx, path)
	return s.Data, err
}

// ReadSecretLease implements credentials.LeaseReader (no leases; the version
// read is reported).
func (c *Connector) ReadSecretLease(ctx context.Context, path string) (credentials.StoreSecret, error) {
	return c.read(ctx, path)
}

func (c *Connector) read(ctx context.Context, path string) (credentials.StoreSecret, error) {
	name, version, err := splitPath(path)
	if err != nil {
		return credentials.StoreSecret{}, err
	}
	client, err := c.vault()
	if err != nil {
		return credentials.StoreSecret{}, err
	}
	resp, err := client.GetSecret(ctx, name, version, nil)
	if err != nil {
		return credentials.StoreSecret{}, c.classify(err, "read secret %q", path)
	}
	if resp.Value == nil {
		return credentials.StoreSecret{}, resilience.New(resilience.ResourceNotFound, "secret %q has no value", path)
	}
	out := credentials.StoreSecret{Data: secrets.Values(*resp.Value)}
	if resp.ID != nil {
		out.Version = resp.ID.Version()
	}
	return out, nil
}

// CheckConnectivity sends an unauthenticated request: the vault's 401
// challenge (or any answer) proves it is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.http.Reach(ctx, "reach Azure Key Vault", c.vaultURL+"/secrets?api-version=7.5&maxresults=1")
	return err
}

// CheckAuthentication gets a new token (a client of its own, so no cached
// one) and lists one secret: a 403 means the token was accepted and only
// lacks the list permission.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	client, err := c.newClient()
	if err != nil {
		return err
	}
	err = c.list(ctx, client)
	if resilience.CodeOf(err) == resilience.PermissionDenied {
		return nil
	}
	return err
}

// CheckFunctionality reads the canary secret, or lists one secret.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	if c.canary != "" {
		_, err := c.read(ctx, c.canary)
		return err
	}
	client, err := c.vault()
	if err != nil {
		return err
	}
	return c.list(ctx, client)
}

func (c *Connector) list(ctx context.Context, client *azsecrets.Client) error {
	pager := client.NewListSecretPropertiesPager(nil)
	if _, err := pager.NextPage(ctx); err != nil {
		return c.classify(err, "list secrets")
	}
	return nil
}

// classify turns an SDK error into a coded one naming the operation.
func (c *Connector) classify(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		code := statusCode(re.StatusCode)
		msg := fmt.Sprintf("%s: %s (HTTP %d)", op, re.ErrorCode, re.StatusCode)
		if re.ErrorCode == "SecretNotFound" || strings.Contains(azauth.BodyText(re.RawResponse), "SecretDisabled") {
			code = resilience.ResourceNotFound
		}
		if d := keyVaultMessage(re.RawResponse); d != "" {
			msg += ": " + d
		}
		e := &resilience.Error{Code: code, Message: msg}
		if code == resilience.RateLimited && re.RawResponse != nil {
			e.RetryAfter, _ = httpx.RetryAfter(re.RawResponse.Header, c.http.Now())
		}
		return e
	}
	if e, ok := azauth.TokenError(op, err); ok {
		return e
	}
	if coded := azauth.CodedCause(err); coded != nil {
		return &resilience.Error{Code: coded.Code, Message: op + ": " + coded.Message, RetryAfter: coded.RetryAfter, Err: coded.Err}
	}
	return secrets.ClientFailure(op, "the Azure client", err)
}

func statusCode(status int) resilience.Code {
	switch {
	case status == http.StatusUnauthorized:
		return resilience.AuthenticationFailed
	case status == http.StatusForbidden:
		return resilience.PermissionDenied
	case status == http.StatusNotFound:
		return resilience.ResourceNotFound
	case status == http.StatusTooManyRequests:
		return resilience.RateLimited
	case status >= 500:
		return resilience.UpstreamError
	}
	return resilience.InvalidConfig
}

// keyVaultMessage is Key Vault's error message: {"error":{"code","message"}}.
func keyVaultMessage(resp *http.Response) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(azauth.BodyText(resp)), &e) != nil {
		return ""
	}
	return secrets.Detail(e.Error.Message)
}
