package gcpsm

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"net/url"
	"strconv"
	"strings"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/gcpauth"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/connectors/secrets"
	"github.com/stella-ops/inthub/shared/credentials"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Connector is the gcp-secret-manager connector of one integration
// revision. It keeps the access token (not the key) until it expires; the
// key is resolved again whenever a token is needed.
type Connector struct {
	endpoint, project, tokenURL, canary string
	http                                kit.Client
	tokens                              *gcpauth.Tokens
}

var (
	_ connectors.Checker      = (*Connector)(nil)
	_ connectors.SecretReader = (*Connector)(nil)
	_ credentials.LeaseReader = (*Connector)(nil)
)

// New builds a connector from the integration's config.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	c := &Connector{
		project: cfg.String("project"), tokenURL: cfg.String("tokenUrl"), canary: cfg.String("canarySecret"),
	}
	ref := in.Integration.CredentialRef
	if !projectID.MatchString(c.project) {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"project\" must be a GCP project ID or number")
	}
	if ref == "" {
		return nil, resilience.New(resilience.InvalidConfig, "credentialRef is required: an env:// or file:// reference to a service-account key")
	}
	if err := secrets.CheckLocalRef("credentialRef", ref); err != nil {
		return nil, err
	}
	var err error
	if c.endpoint, err = gcpauth.CheckURL("url", cfg.String("url")); err != nil {
		return nil, err
	}
	if c.tokenURL != "" {
		if c.tokenURL, err = gcpauth.CheckURL("tokenUrl", c.tokenURL); err != nil {
			return nil, err
		}
	}
	if c.canary != "" {
		if _, _, err := c.versionName(c.canary); err != nil {
			return nil, err
		}
	}
	if c.http, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	c.tokens = &gcpauth.Tokens{TokenURL: c.tokenURL, Scopes: []string{Scope}, HTTP: c.http,
		Key: func(ctx context.Context) (credentials.Secret, error) {
			return secrets.ResolveOwn(ctx, in.Credentials, "credentialRef", ref)
		}}
	return c, nil
}

// Close forgets the access token.
func (c *Connector) Close() error {
	c.tokens.Forget()
	return nil
}

// versionName reads a path: <secret>, <secret>/<version> or
// <secret>/versions/<version>, the version a number, "latest" or an alias.
func (c *Connector) versionName(p string) (secret, version string, err error) {
	if secret, version, err = splitVersionPath(p); err != nil {
		return "", "", resilience.Wrap(resilience.InvalidConfig, err, "secret path")
	}
	return secret, version, nil
}

// ReadSecret implements connectors.SecretReader.
func (c *Connector) ReadSecret(ctx context.Context, path string) (map[string]string, error) {
	s, err := c.read(ctx, path)
	return s.Data, err
}

// ReadSecretLease implements credentials.LeaseReader (versions have no
// lease; the version read is reported).
func (c *Connector) ReadSecretLease(ctx context.Context, path string) (credentials.StoreSecret, error) {
	return c.read(ctx, path)
}

// get sends an authenticated GET of an API path (after /v1/).
func (c *Connector) get(ctx context.Context, what, path string, query url.Values, out any) error {
	return c.tokens.Get(ctx, what, c.endpoint, "/v1/"+path, query, out)
}

// read accesses a secret version and checks its CRC32C.
func (c *Connector) read(ctx context.Context, path string) (credentials.StoreSecret, error) {
	secret, version, err := c.versionName(path)
	if err != nil {
		return credentials.StoreSecret{}, err
	}
	var out struct {
		Name    string `json:"name"`
		Payload struct {
			Data       string `json:"data"`
			DataCrc32c string `json:"dataCrc32c"`
		} `json:"payload"`
	}
	what := fmt.Sprintf("access secret %q version %s", secret, version)
	name := "projects/" + c.project + "/secrets/" + secret + "/versions/" + version + ":access"
	if err := c.get(ctx, what, name, nil, &out); err != nil {
		return credentials.StoreSecret{}, err
	}
	data, err := base64.StdEncoding.DecodeString(out.Payload.Data)
	if err != nil {
		return credentials.StoreSecret{}, resilience.New(resilience.UpstreamError, "%s: the payload is not base64", what)
	}
	if out.Payload.DataCrc32c != "" {
		want, err := strconv.ParseUint(out.Payload.DataCrc32c, 10, 32)
		if err != nil || crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) != uint32(want) {
			return credentials.StoreSecret{}, resilience.New(resilience.UpstreamError, "%s: the payload does not match its CRC32C checksum", what)
		}
	}
	v := out.Name[strings.LastIndex(out.Name, "/")+1:]
	return credentials.StoreSecret{Data: secrets.Values(string(data)), Version: v}, nil
}

// CheckConnectivity sends an unauthenticated request: any HTTP answer (the
// API says 401) proves it is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.http.Reach(ctx, "reach GCP Secret Manager", c.endpoint+"/v1/projects/"+c.project+"/secrets?pageSize=1")
	return err
}

// CheckAuthentication exchanges the key for a new access token.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	_, err := c.tokens.Token(ctx, true)
	return err
}

// CheckFunctionality reads the canary secret, or lists one secret.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	if c.canary != "" {
		_, err := c.read(ctx, c.canary)
		return err
	}
	var out map[string]any
	return c.get(ctx, "list secrets", "projects/"+c.project+"/secrets", url.Values{"pageSize": {"1"}}, &out)
}
