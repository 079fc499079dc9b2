package awssm

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/awsauth/sigv4fake"
)

// fakeAWS is a protocol fake of AWS Secrets Manager (JSON 1.1 protocol)
// and of STS AssumeRole (query protocol), checking what AWS checks: a
// well-formed SigV4 Authorization header whose signature verifies with the
// key's secret over the signed headers and the body, a known access key (and
// its session token for temporary keys), an X-Amz-Date within 5 minutes,
// the credential scope's region and service, the X-Amz-Target and the JSON
// content type. It answers with the services' error bodies.
type fakeAWS struct {
	t      testing.TB
	srv    *httptest.Server
	region string

	mu       sync.Mutex
	keys     map[string]*accessKey // access key id -> key
	secrets  map[string]*smSecret
	roles    map[string]string // role ARN -> required external id ("" = none)
	throttle int
	calls    map[string]int // operation -> count
}

type accessKey struct {
	secret, session string
	// allow is the secret-name prefixes the key may read; nil = all.
	allow   []string
	expires time.Time // temporary keys
}

type smSecret struct {
	versions []smVersion // newest last
	deleted  bool
}

type smVersion struct {
	id     string
	value  string
	binary []byte
	stages []string
}

func startAWS(t testing.TB) *fakeAWS {
	f := &fakeAWS{t: t, region: "eu-west-1", keys: map[string]*accessKey{}, secrets: map[string]*smSecret{},
		roles: map[string]string{}, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAWS) addKey(id, secret string, allow ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[id] = &accessKey{secret: secret, allow: allow}
}

// put stores a new current version (the old one becomes AWSPREVIOUS).
func (f *fakeAWS) put(name, value string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.secrets[name]
	if s == nil {
		s = &smSecret{}
		f.secrets[name] = s
	}
	for i := range s.versions {
		s.versions[i].stages = slicesWithout(s.versions[i].stages, "AWSPREVIOUS")
		if hasStage(s.versions[i].stages, "AWSCURRENT") {
			s.versions[i].stages = append(slicesWithout(s.versions[i].stages, "AWSCURRENT"), "AWSPREVIOUS")
		}
	}
	id := fmt.Sprintf("a1b2c3d4-0000-4000-8000-%012d", len(s.versions)+1)
	s.versions = append(s.versions, smVersion{id: id, value: value, stages: []string{"AWSCURRENT"}})
	return id
}

func (f *fakeAWS) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func slicesWithout(s []string, x string) []string {
	var out []string
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

func hasStage(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	f.mu.Lock()
	defer f.mu.Unlock()
	isSTS := r.Header.Get("X-Amz-Target") == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	service := "secretsmanager"
	if isSTS {
		service = "sts"
	}
	if r.Method != http.MethodPost {
		// What the endpoint answers an unsigned GET.
		f.jsonError(w, 404, "UnknownOperationException", "")
		return
	}
	key, code, msg := f.verify(r, body, service)
	if code != "" {
		if isSTS {
			f.stsError(w, 403, code, msg)
		} else {
			f.jsonError(w, 400, code, msg)
		}
		return
	}
	if f.throttle > 0 {
		f.throttle--
		if isSTS {
			f.stsError(w, 400, "Throttling", "Rate exceeded")
		} else {
			f.jsonError(w, 400, "ThrottlingException", "Rate exceeded")
		}
		return
	}
	if isSTS {
		f.assumeRole(w, body)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		f.jsonError(w, 400, "SerializationException", "Content-Type must be application/x-amz-json-1.1")
		return
	}
	switch target := r.Header.Get("X-Amz-Target"); target {
	case "secretsmanager.GetSecretValue":
		f.calls["GetSecretValue"]++
		f.getSecretValue(w, key, body)
	case "secretsmanager.ListSecrets":
		f.calls["ListSecrets"]++
		f.listSecrets(w, key)
	default:
		f.jsonError(w, 400, "UnknownOperationException", "")
	}
}

// verify checks the SigV4 signature as AWS does (sigv4fake) and returns
// the key, or the error code and message AWS answers.
func (f *fakeAWS) verify(r *http.Request, body []byte, service string) (*accessKey, string, string) {
	var signed []string
	if service == "secretsmanager" {
		signed = append(signed, "x-amz-target")
	}
	id, code, msg := sigv4fake.Verify(r, body, f.region, service, func(id string) (sigv4fake.Key, bool) {
		k, ok := f.keys[id]
		if !ok {
			return sigv4fake.Key{}, false
		}
		return sigv4fake.Key{Secret: k.secret, Session: k.session, Expires: k.expires}, true
	}, signed...)
	if code != "" {
		return nil, code, msg
	}
	return f.keys[id], "", ""
}

func (f *fakeAWS) getSecretValue(w http.ResponseWriter, key *accessKey, body []byte) {
	var in struct {
		SecretID     string `json:"SecretId"`
		VersionID    string `json:"VersionId"`
		VersionStage string `json:"VersionStage"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.SecretID == "" {
		f.jsonError(w, 400, "InvalidParameterException", "You must provide a SecretId.")
		return
	}
	if key.allow != nil && !allowed(key.allow, in.SecretID) {
		f.jsonError(w, 400, "AccessDeniedException", fmt.Sprintf("User: arn:aws:iam::123456789012:user/hub is not authorized to perform: secretsmanager:GetSecretValue on resource: %s", in.SecretID))
		return
	}
	s := f.secrets[in.SecretID]
	if s == nil {
		f.jsonError(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	if s.deleted {
		f.jsonError(w, 400, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
		return
	}
	stage := in.VersionStage
	if stage == "" && in.VersionID == "" {
		stage = "AWSCURRENT"
	}
	for _, v := range s.versions {
		if (in.VersionID != "" && v.id == in.VersionID) || (stage != "" && hasStage(v.stages, stage)) {
			out := map[string]any{"ARN": "arn:aws:secretsmanager:" + f.region + ":123456789012:secret:" + in.SecretID + "-AbCdEf",
				"Name": in.SecretID, "VersionId": v.id, "VersionStages": v.stages, "CreatedDate": 1.7e9}
			if v.binary != nil {
				out["SecretBinary"] = v.binary
			} else {
				out["SecretString"] = v.value
			}
			f.json(w, 200, out)
			return
		}
	}
	f.jsonError(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: "+stage)
}

func allowed(prefixes []string, name string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (f *fakeAWS) listSecrets(w http.ResponseWriter, key *accessKey) {
	if key.allow != nil {
		f.jsonError(w, 400, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/hub is not authorized to perform: secretsmanager:ListSecrets")
		return
	}
	names := make([]string, 0, len(f.secrets))
	for n := range f.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	list := []map[string]any{}
	if len(names) > 0 {
		list = append(list, map[string]any{"Name": names[0], "ARN": "arn:aws:secretsmanager:" + f.region + ":123456789012:secret:" + names[0] + "-AbCdEf"})
	}
	out := map[string]any{"SecretList": list}
	if len(names) > 1 {
		out["NextToken"] = "page-2"
	}
	f.json(w, 200, out)
}

// assumeRole answers STS AssumeRole with temporary credentials valid for an
// hour (the signing key is checked in serve).
func (f *fakeAWS) assumeRole(w http.ResponseWriter, body []byte) {
	form, _ := url.ParseQuery(string(body))
	f.calls["AssumeRole"]++
	if form.Get("Action") != "AssumeRole" || form.Get("Version") != "2011-06-15" {
		f.stsError(w, 400, "InvalidAction", "Could not find operation "+form.Get("Action"))
		return
	}
	ext, ok := f.roles[form.Get("RoleArn")]
	if !ok || ext != form.Get("ExternalId") || form.Get("RoleSessionName") == "" {
		f.stsError(w, 403, "AccessDenied", "User: arn:aws:iam::123456789012:user/hub is not authorized to perform: sts:AssumeRole on resource: "+form.Get("RoleArn"))
		return
	}
	id, secret, session := "ASIA"+strings.Repeat("T", 12)+fmt.Sprintf("%04d", f.calls["AssumeRole"]), "temp-secret-"+fmt.Sprint(f.calls["AssumeRole"]), "temp-session-token"
	expires := time.Now().Add(time.Hour).UTC()
	f.keys[id] = &accessKey{secret: secret, session: session, expires: expires}
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type result struct {
		XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
		Result  struct {
			Credentials     creds `xml:"Credentials"`
			AssumedRoleUser struct {
				Arn           string `xml:"Arn"`
				AssumedRoleID string `xml:"AssumedRoleId"`
			} `xml:"AssumedRoleUser"`
		} `xml:"AssumeRoleResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	var out result
	out.Result.Credentials = creds{id, secret, session, expires.Format(time.RFC3339)}
	out.Result.AssumedRoleUser.Arn = form.Get("RoleArn") + "/" + form.Get("RoleSessionName")
	out.Result.AssumedRoleUser.AssumedRoleID = "AROA0000:" + form.Get("RoleSessionName")
	out.RequestID = "req-1"
	w.Header().Set("Content-Type", "text/xml")
	var buf bytes.Buffer
	_ = xml.NewEncoder(&buf).Encode(out)
	_, _ = w.Write(buf.Bytes())
}

func (f *fakeAWS) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "req-1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// jsonError is the JSON protocol's error: HTTP 400 and {"__type", "message"}.
func (f *fakeAWS) jsonError(w http.ResponseWriter, status int, code, msg string) {
	body := map[string]string{"__type": code}
	if msg != "" {
		body["message"] = msg
	}
	w.Header().Set("X-Amzn-Errortype", code)
	f.json(w, status, body)
}

// stsError is the query protocol's error document.
func (f *fakeAWS) stsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, code, msg)
}
