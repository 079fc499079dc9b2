// Package ecrfake is the fake of the ecr provider's vendor API that its
// tests and the CLI's run against, in front of a real docker-registry.
package ecrfake

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stella-ops/inthub/shared/connectors/awsauth/sigv4fake"
)

// The fake's credentials and names, for tests of other packages.
const (
	KeyID       = keyID
	KeySecret   = keySecret
	Account     = account
	Region      = region
	ECRUser     = ecrUser
	ECRPassword = ecrPasswd
	TargetPref  = targetPref
)

// The keys, account and registry password of the tests.
const (
	keyID      = "AKIAECRTESTKEY00001"
	keySecret  = "ecr-s3cr3t-access-key"
	account    = "123456789012"
	region     = "eu-west-1"
	ecrUser    = "AWS"
	ecrPasswd  = "ecr-registry-password-s3cr3t"
	targetPref = "AmazonEC2ContainerRegistry_V20150921."
)

// fakeECR serves the ECR API operations the connector calls, as the ECR API
// reference describes them (JSON 1.1 protocol, X-Amz-Target
// AmazonEC2ContainerRegistry_V20150921.<operation>, SigV4 with service
// "ecr", checked by sigv4fake): GetAuthorizationToken answers base64
// "AWS:<password>" and a proxyEndpoint (the real registry of the test);
// DescribeRepositories pages by maxResults (1-1000) and an opaque
// nextToken, refusing one it did not issue with InvalidParameterException;
// another account's registryId is AccessDeniedException; throttled, every
// operation answers HTTP 400 ThrottlingException, as AWS does.
type Fake struct {
	// Server serves the vendor API and, behind it, the registry.
	Server   *httptest.Server
	registry string // the proxyEndpoint
	repos    []string

	mu       sync.Mutex
	throttle bool
}

// Start serves the fake in front of the registry at registry.
func Start(t testing.TB, registry string, repos []string) *Fake {
	f := &Fake{registry: registry, repos: repos}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Server.Close)
	return f
}

// SetThrottle makes every operation answer ThrottlingException (or not).
func (f *Fake) SetThrottle(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle = on
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodPost {
		apiError(w, http.StatusNotFound, "UnknownOperationException", "")
		return
	}
	_, code, msg := sigv4fake.Verify(r, body, region, "ecr", func(id string) (sigv4fake.Key, bool) {
		return sigv4fake.Key{Secret: keySecret}, id == keyID
	}, "x-amz-target")
	if code != "" {
		apiError(w, http.StatusBadRequest, code, msg)
		return
	}
	if f.throttle {
		apiError(w, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		apiError(w, http.StatusBadRequest, "SerializationException", "Content-Type must be application/x-amz-json-1.1")
		return
	}
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPref)
	switch op {
	case "GetAuthorizationToken":
		f.getAuthorizationToken(w, body)
	case "DescribeRepositories":
		f.describeRepositories(w, body)
	default:
		apiError(w, http.StatusBadRequest, "UnknownOperationException", "")
	}
}

func (f *Fake) getAuthorizationToken(w http.ResponseWriter, body []byte) {
	var in struct {
		RegistryIDs []string `json:"registryIds"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		apiError(w, http.StatusBadRequest, "SerializationException", "")
		return
	}
	for _, id := range in.RegistryIDs {
		if id != account {
			apiError(w, http.StatusBadRequest, "AccessDeniedException", "not authorized to perform: ecr:GetAuthorizationToken on registry "+id)
			return
		}
	}
	writeJSON(w, map[string]any{"authorizationData": []map[string]any{{
		"authorizationToken": base64.StdEncoding.EncodeToString([]byte(ecrUser + ":" + ecrPasswd)),
		"expiresAt":          1.9e9, "proxyEndpoint": f.registry}}})
}

// nextToken is the fake's opaque page token.
func nextToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte("ecr-next:" + strconv.Itoa(offset)))
}

func parseNextToken(s string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !strings.HasPrefix(string(b), "ecr-next:") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "ecr-next:"))
	return n, err == nil && n > 0
}

func (f *Fake) describeRepositories(w http.ResponseWriter, body []byte) {
	var in struct {
		RegistryID      string   `json:"registryId"`
		RepositoryNames []string `json:"repositoryNames"`
		NextToken       string   `json:"nextToken"`
		MaxResults      *int     `json:"maxResults"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		apiError(w, http.StatusBadRequest, "SerializationException", "")
		return
	}
	if in.RegistryID != "" && in.RegistryID != account {
		apiError(w, http.StatusBadRequest, "AccessDeniedException", "not authorized to perform: ecr:DescribeRepositories on registry "+in.RegistryID)
		return
	}
	size := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			apiError(w, http.StatusBadRequest, "InvalidParameterException", "maxResults must be between 1 and 1000")
			return
		}
		size = *in.MaxResults
	}
	offset := 0
	if in.NextToken != "" {
		var ok bool
		if offset, ok = parseNextToken(in.NextToken); !ok || offset >= len(f.repos) {
			apiError(w, http.StatusBadRequest, "InvalidParameterException", "Invalid parameter at 'nextToken'")
			return
		}
	}
	end := min(offset+size, len(f.repos))
	items := []map[string]any{}
	for _, name := range f.repos[offset:end] {
		items = append(items, map[string]any{"repositoryName": name, "registryId": account,
			"repositoryArn": "arn:aws:ecr:" + region + ":" + account + ":repository/" + name,
			"repositoryUri": account + ".dkr.ecr." + region + ".amazonaws.com/" + name,
			"createdAt":     1.7e9, "imageTagMutability": "MUTABLE"})
	}
	out := map[string]any{"repositories": items}
	if end < len(f.repos) {
		out["nextToken"] = nextToken(end)
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the JSON protocol's error: {"__type", "message"}.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	body := map[string]string{"__type": code}
	if msg != "" {
		body["message"] = msg
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
