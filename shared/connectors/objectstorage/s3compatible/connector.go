package s3compatible

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/stella-ops/inthub/shared/connectors"
	"github.com/stella-ops/inthub/shared/connectors/kit"
	"github.com/stella-ops/inthub/shared/resilience"
)

// probePrefix is where the write probe puts its object; the name says whose
// it is to anyone browsing the bucket.
const probePrefix = ".inthub-probe/"

// maxProbeRead bounds what the write probe reads back.
const maxProbeRead = 4 << 10

// Connector is the S3-compatible connector of one integration revision. It
// keeps no credential: each check resolves them and drops them when done.
type Connector struct {
	endpoint      string
	bucket        string
	writeProbe    bool
	credentialRef string
	credentials   connectors.CredentialSource
	http          kit.Client
	// options are the S3 client's settings less the credentials, which each
	// call resolves anew.
	options s3.Options
}

var _ connectors.Checker = (*Connector)(nil)

// New builds a connector from the integration's config; a config that
// cannot work is an INVALID_CONFIG error.
func New(_ context.Context, in connectors.Instance) (connectors.Connector, error) {
	cfg := connectors.NewValues(decl, in.Integration.Config)
	endpoint, err := parseEndpoint(cfg.String("url"))
	if err != nil {
		return nil, err
	}
	c := &Connector{
		endpoint: endpoint, bucket: cfg.String("bucket"), writeProbe: cfg.Bool("writeProbe"),
		credentialRef: in.Integration.CredentialRef, credentials: in.Credentials,
	}
	if c.writeProbe && c.bucket == "" {
		return nil, resilience.New(resilience.InvalidConfig, "config field \"writeProbe\" needs config field \"bucket\"")
	}
	if c.http, err = kit.NewClient(in); err != nil {
		return nil, err
	}
	c.options = s3.Options{
		Region:       cfg.String("region"),
		BaseEndpoint: aws.String(endpoint),
		// Virtual-hosted style needs wildcard DNS that S3-compatible
		// servers rarely have; every one of them serves path style.
		UsePathStyle: true,
		// The guarded client: the SSRF guard, timeout and TLS options apply
		// to every SDK request.
		HTTPClient: c.http.HTTP.HTTPClient(),
		// Retrying is decided by code in resilience, not inside the SDK.
		Retryer: aws.NopRetryer{},
		// Default flexible checksums (CRC32 trailers) break many
		// S3-compatible servers; send and check them only where required.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Logger:                     logging.Nop{},
	}
	return c, nil
}

// parseEndpoint accepts an absolute http(s) URL without user info, query or
// fragment; a path prefix (a gateway behind a reverse proxy) is kept.
func parseEndpoint(raw string) (string, error) {
	u, err := kit.ParseBaseURL("url", raw)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Close holds nothing: the runtime owns the HTTP client.
func (c *Connector) Close() error { return nil }

// CheckConnectivity sends a plain, unsigned GET of the endpoint: any HTTP
// answer (S3 servers say 403 to anonymous requests) proves it is reachable.
func (c *Connector) CheckConnectivity(ctx context.Context) error {
	_, err := c.http.Reach(ctx, "reach the S3 endpoint", c.endpoint+"/")
	return err
}

// CheckAuthentication lists buckets, which only a valid signature gets an
// answer to. A key scoped to one bucket may be refused ListBuckets
// (AccessDenied comes after the signature was verified); then a HeadBucket
// of the configured bucket decides. Without a credentialRef there is
// nothing to authenticate: requests go unsigned and functionality tells
// whether anonymous access is enough.
func (c *Connector) CheckAuthentication(ctx context.Context) error {
	if c.credentialRef == "" {
		return nil
	}
	client, err := c.client(ctx)
	if err != nil {
		return err
	}
	err = c.listBuckets(ctx, client)
	if resilience.CodeOf(err) == resilience.PermissionDenied && c.bucket != "" {
		return c.headBucket(ctx, client)
	}
	return err
}

// CheckFunctionality heads the configured bucket (or lists buckets when
// none is set) and, with writeProbe, writes, reads back and deletes an
// object in it.
func (c *Connector) CheckFunctionality(ctx context.Context) error {
	client, err := c.client(ctx)
	if err != nil {
		return err
	}
	if c.bucket == "" {
		return c.listBuckets(ctx, client)
	}
	if err := c.headBucket(ctx, client); err != nil {
		return err
	}
	if c.writeProbe {
		return c.probe(ctx, client)
	}
	return nil
}

func (c *Connector) listBuckets(ctx context.Context, client *s3.Client) error {
	_, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	return c.classify(err, "list buckets")
}

// headBucket checks that the bucket exists and the credentials may use it.
// A HEAD answer has no body, so a bare 403 or 404 cannot say whether the
// signature, the key or the permission failed (VersityGW, for one, answers
// an unknown key with 404); a one-key listing of the bucket gets S3's error
// code for it.
func (c *Connector) headBucket(ctx context.Context, client *s3.Client) error {
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.bucket)})
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "Forbidden" || api.ErrorCode() == "NotFound") {
		_, listErr := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(c.bucket), MaxKeys: aws.Int32(1)})
		if listErr != nil {
			err = listErr
		}
	}
	return c.classify(err, "head bucket %q", c.bucket)
}

// probe writes a small object, reads it back, compares and deletes it. The
// delete runs whatever the read gave, so a failed check leaves no litter.
func (c *Connector) probe(ctx context.Context, client *s3.Client) (err error) {
	key := probePrefix + fmt.Sprintf("%d-%s", c.http.Now().UnixNano(), rand.Text()[:8])
	content := []byte("inthub write probe " + c.http.Now().UTC().Format(time.RFC3339))
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(c.bucket), Key: aws.String(key),
		Body: bytes.NewReader(content), ContentLength: aws.Int64(int64(len(content))),
		ContentType: aws.String("text/plain"),
	})
	if err != nil {
		return c.classify(err, "write probe object %s/%s", c.bucket, key)
	}
	defer func() {
		_, delErr := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key)})
		if err == nil {
			err = c.classify(delErr, "delete probe object %s/%s", c.bucket, key)
		}
	}()
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key)})
	if err != nil {
		return c.classify(err, "read probe object %s/%s", c.bucket, key)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(io.LimitReader(out.Body, maxProbeRead))
	if err != nil {
		return c.classify(err, "read probe object %s/%s", c.bucket, key)
	}
	if !bytes.Equal(got, content) {
		return resilience.New(resilience.UpstreamError,
			"probe object %s/%s read back %d bytes that differ from the %d written", c.bucket, key, len(got), len(content))
	}
	return nil
}

// client builds an S3 client signing with credentials resolved now; no
// credentialRef means unsigned (anonymous) requests.
func (c *Connector) client(ctx context.Context) (*s3.Client, error) {
	opts := c.options
	if c.credentialRef == "" {
		opts.Credentials = aws.AnonymousCredentials{}
		return s3.New(opts), nil
	}
	secret, err := kit.Resolve(ctx, c.credentials, c.credentialRef, "the S3 access keys")
	if err != nil {
		return nil, err
	}
	keys, err := accessKeys(secret)
	if err != nil {
		return nil, err
	}
	opts.Credentials = keys
	return s3.New(opts), nil
}

// accessKeys reads an access key pair from a secret: keys accessKeyId and
// secretAccessKey (sessionToken optional), or a basic credential whose
// username is the key id and password the secret key.
func accessKeys(s map[string]string) (credentials.StaticCredentialsProvider, error) {
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := s[k]; v != "" {
				return v
			}
		}
		return ""
	}
	id := first("accessKeyId", "access_key_id", "accessKey")
	secret := first("secretAccessKey", "secret_access_key", "secretKey")
	if id == "" && secret == "" {
		id, secret = first("username", "user"), first("password")
		if id == "" && secret == "" {
			if v := s["value"]; strings.Contains(v, ":") {
				id, secret, _ = strings.Cut(v, ":")
			}
		}
	}
	if id == "" || secret == "" {
		return credentials.StaticCredentialsProvider{}, resilience.New(resilience.InvalidConfig,
			"the S3 credentials need keys accessKeyId and secretAccessKey (or username and password)")
	}
	return credentials.NewStaticCredentialsProvider(id, secret, first("sessionToken", "session_token")), nil
}

// classify turns an SDK error into a coded one naming the operation.
func (c *Connector) classify(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	op := fmt.Sprintf(format, args...)
	if e := fromAPIError(err, c.http.Now()); e != nil {
		e.Message = op + ": " + e.Message
		return e
	}
	var coded *resilience.Error
	if errors.As(err, &coded) { // the guarded client's transport failure
		return &resilience.Error{Code: coded.Code, Message: op + ": " + coded.Message, RetryAfter: coded.RetryAfter, Err: coded.Err}
	}
	if ctxErr := contextErr(err); ctxErr != nil {
		return resilience.Wrap(resilience.Timeout, ctxErr, "%s: no answer in time", op)
	}
	return resilience.Wrap(resilience.UpstreamError, err, "%s", op)
}

// contextErr returns the context error err carries, if any.
func contextErr(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return context.Canceled
	}
	return nil
}
