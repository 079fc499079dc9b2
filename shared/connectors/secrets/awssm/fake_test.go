package awssm

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
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

// authHeader is the shape AWS accepts.
var authHeader = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

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

// verify checks the SigV4 signature as AWS does and returns the key, or
// the error code and message AWS answers.
func (f *fakeAWS) verify(r *http.Request, body []byte, service string) (*accessKey, string, string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	m := authHeader.FindStringSubmatch(auth)
	if m == nil {
		return nil, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters"
	}
	keyID, day, region, svc, signed, sig := m[1], m[2], m[3], m[4], m[5], m[6]
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, day) {
		return nil, "IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope"
	}
	if d := time.Since(at); d > 5*time.Minute || d < -5*time.Minute {
		return nil, "InvalidSignatureException", "Signature expired"
	}
	if region != f.region || svc != service {
		return nil, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region and service (%s, %s)", f.region, service)
	}
	if !strings.Contains(";"+signed+";", ";host;") || !strings.Contains(";"+signed+";", ";x-amz-date;") {
		return nil, "InvalidSignatureException", "host and x-amz-date must be signed"
	}
	if service == "secretsmanager" && !strings.Contains(";"+signed+";", ";x-amz-target;") {
		return nil, "InvalidSignatureException", "x-amz-target must be signed"
	}
	key, ok := f.keys[keyID]
	if !ok || (!key.expires.IsZero() && time.Now().After(key.expires)) {
		return nil, "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if key.session != "" && r.Header.Get("X-Amz-Security-Token") != key.session {
		return nil, "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	want := sign(key.secret, day, region, service, amzDate, canonicalRequest(r, body, signed))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return nil, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."
	}
	return key, "", ""
}

// canonicalRequest builds SigV4's canonical request from the signed headers.
func canonicalRequest(r *http.Request, body []byte, signed string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path + "\n")
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vs := q[k]
		sort.Strings(vs)
		for _, v := range vs {
			pairs = append(pairs, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	b.WriteString(strings.Join(pairs, "&") + "\n")
	for _, h := range strings.Split(signed, ";") {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = fmt.Sprint(r.ContentLength)
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		b.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	b.WriteString("\n" + signed + "\n")
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	b.WriteString(payload)
	return b.String()
}

func sign(secret, day, region, service, amzDate, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + day + "/" + region + "/" + service + "/aws4_request\n" + hex.EncodeToString(h[:])
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
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
