package connectortest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// EchoMode is how the HTTP echo server answers: an error status with the
// echo in a JSON or a text body, or a success whose names are the echo.
type EchoMode struct {
	Name        string
	Status      int
	ContentType string
}

// EchoModes are the answers every echo test goes through.
var EchoModes = []EchoMode{
	{"401 json", http.StatusUnauthorized, "application/json"},
	{"400 text", http.StatusBadRequest, "text/plain"},
	{"429 json", http.StatusTooManyRequests, "application/json"},
	{"200 json", http.StatusOK, "application/json"},
}

// EchoHTTP is an HTTPS server that answers every request with what it
// received (method, URL, headers, body, and the Basic credentials and form
// fields decoded, as a server quoting them would), in its current mode:
// what a hostile endpoint or a misconfigured proxy does with credentials.
type EchoHTTP struct {
	// URL is the server's https URL; CAPEM the certificate to trust (caCert).
	URL, CAPEM string

	srv  *httptest.Server
	mode atomic.Pointer[EchoMode]
}

// SetMode changes how the server answers from the next request on.
func (h *EchoHTTP) SetMode(m EchoMode) { h.mode.Store(&m) }

// ServeHTTP implements http.Handler.
func (h *EchoHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s\n", r.Method, r.URL.String())
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&sb, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	sb.Write(body)
	if u, p, ok := r.BasicAuth(); ok {
		fmt.Fprintf(&sb, "\nyou are %s with password %s", u, p) // decoded, as a server would quote it
	}
	if q, err := url.ParseQuery(string(body)); err == nil {
		for k, v := range q {
			fmt.Fprintf(&sb, "\nform %s=%s", k, strings.Join(v, ","))
		}
	}
	echo := sb.String()
	m := h.mode.Load()
	w.Header().Set("Content-Type", m.ContentType)
	switch m.Status {
	case http.StatusOK:
		writeSuccess(w, r, strings.Join(strings.Fields(echo), " "))
		return
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+h.srv.URL+`/token",service="echo"`)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(m.Status)
	if m.ContentType == "application/json" {
		_ = json.NewEncoder(w).Encode(map[string]any{"message": echo, "error": echo, "error_description": echo,
			"errors": []any{map[string]any{"message": echo, "code": "ECHO"}}, "ok": false})
		return
	}
	_, _ = io.WriteString(w, echo)
}

// writeSuccess answers 200 with the echo in the fields providers read names,
// ids, tokens and messages from.
func writeSuccess(w http.ResponseWriter, r *http.Request, e string) {
	item := map[string]any{"id": e, "name": e, "full_name": e, "fullName": e, "path_with_namespace": e, "path": e, "url": e,
		"html_url": e, "web_url": e, "ref": e, "status": "success", "conclusion": "success", "color": "blue", "username": e}
	if strings.Contains(r.URL.Path, "/api/v4/") && strings.HasSuffix(r.URL.Path, "s") {
		_ = json.NewEncoder(w).Encode([]any{item})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ok": true, "message": e, "id": e, "name": e, "token": e, "access_token": e, "expires_in": 3600, "token_type": "Bearer",
		"repositories": []any{e}, "tags": []any{e}, "channels": []any{map[string]any{"id": "C0123ECHO", "name": e}},
		"jobs": []any{item}, "workflows": []any{item}, "workflow_runs": []any{item}, "data": map[string]any{"data": map[string]any{"value": e},
			"onCallRecipients": []any{e}, "onCallParticipants": []any{map[string]any{"name": e}}},
		"dedup_key": e, "requestId": e, "result": e, "ts": "1700000000.000100", "channel": "C0123ECHO",
		"auth": map[string]any{"client_token": e, "lease_duration": 60}, "status": "success",
		"team_id": "T0ECHO", "team": e, "user": e, "url": e, "value": e,
	})
}

// EchoSMTP is an SMTP server that offers STARTTLS and AUTH PLAIN and LOGIN
// and quotes what it received (raw and decoded) in its replies: 535 to AUTH,
// or, after AcceptAuth(true), 235 and then 553 to MAIL, RCPT and DATA.
type EchoSMTP struct {
	// Host and Port to dial.
	Host string
	Port int

	ln    net.Listener
	tls   *tls.Config
	later atomic.Bool
}

// AcceptAuth makes AUTH succeed, so the echo comes in a later reply.
func (s *EchoSMTP) AcceptAuth(ok bool) { s.later.Store(ok) }

func (s *EchoSMTP) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *EchoSMTP) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), c
	reply := func(line string) { _, _ = io.WriteString(w, line+"\r\n") }
	read := func() (string, bool) {
		l, err := r.ReadString('\n')
		return strings.TrimRight(l, "\r\n"), err == nil
	}
	decoded := func(b string) string {
		d, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return ""
		}
		return strings.ReplaceAll(string(d), "\x00", " ")
	}
	var heard []string
	reply("220 echo ESMTP")
	secure := false
	for {
		line, ok := read()
		if !ok {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			if secure {
				reply("250-echo\r\n250 AUTH PLAIN LOGIN")
			} else {
				reply("250-echo\r\n250 STARTTLS")
			}
		case "STARTTLS":
			reply("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, r, w, secure = tc, bufio.NewReader(tc), tc, true
		case "AUTH":
			f := strings.Fields(line)
			heard = append(heard, line)
			if len(f) == 3 {
				heard = append(heard, decoded(f[2]))
			}
			if len(f) == 2 && strings.EqualFold(f[1], "LOGIN") {
				for _, prompt := range []string{"334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"} {
					reply(prompt)
					l, ok := read()
					if !ok {
						return
					}
					heard = append(heard, l, decoded(l))
				}
			}
			if len(f) == 2 && strings.EqualFold(f[1], "PLAIN") {
				reply("334 ")
				l, ok := read()
				if !ok {
					return
				}
				heard = append(heard, l, decoded(l))
			}
			if s.later.Load() {
				reply("235 2.7.0 accepted")
			} else {
				reply("535 5.7.8 Authentication failed: you sent " + strings.Join(heard, " | "))
			}
		case "MAIL", "RCPT", "DATA":
			reply("553 5.7.1 refused; your AUTH was " + strings.Join(heard, " | "))
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

// StartEchoHTTP runs an EchoHTTP (first mode of EchoModes) for the life of t.
func StartEchoHTTP(t testing.TB) *EchoHTTP {
	t.Helper()
	h := &EchoHTTP{}
	h.SetMode(EchoModes[0])
	h.srv = httptest.NewTLSServer(h)
	t.Cleanup(h.srv.Close)
	h.URL = h.srv.URL
	h.CAPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw}))
	return h
}

// StartEchoSMTP runs an EchoSMTP on 127.0.0.1 for the life of t, with the
// same certificate as h (trust h.CAPEM).
func StartEchoSMTP(t testing.TB, h *EchoHTTP) *EchoSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &EchoSMTP{ln: ln, tls: &tls.Config{Certificates: h.srv.TLS.Certificates, MinVersion: tls.VersionTLS12},
		Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	go s.serve()
	return s
}

// SecretForms are the spellings a leak of secrets could take. secrets maps
// env variable names to their values, JSON objects or plain strings as
// credentials.LocalResolver reads them. User names and other identifiers
// alone are no secret (see credentials.Scrubber); the markers "LeakCore00"
// to "LeakCore99", "LeakCoreTeams" and "LeakCoreKeyId", put inside test
// secrets, catch a part of a secret left behind by a split or a cut.
func SecretForms(secrets map[string]string) []string {
	var forms []string
	addValue := func(v string) {
		b := []byte(v)
		j, _ := json.Marshal(v)
		q := strconv.Quote(v)
		forms = append(forms, v, base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			url.QueryEscape(v), url.PathEscape(v), string(j[1:len(j)-1]), q[1:len(q)-1])
	}
	for _, raw := range secrets {
		var m map[string]string
		if json.Unmarshal([]byte(raw), &m) != nil {
			m = map[string]string{"value": raw}
		}
		for k, v := range m {
			switch k {
			case "username", "accessKeyId", "type", "project_id", "client_email", "token_uri":
				continue
			}
			addValue(v)
			if u, err := url.Parse(v); err == nil && u.Scheme == "https" {
				addValue(u.Path)
				addValue(u.EscapedPath())
			}
		}
		if p := m["password"]; p != "" {
			addValue(m["username"] + ":" + p)
			for _, blob := range []string{"\x00" + m["username"] + "\x00" + p, m["username"] + "\x00" + m["username"] + "\x00" + p} {
				forms = append(forms, base64.StdEncoding.EncodeToString([]byte(blob)))
			}
		}
	}
	for i := 0; i < 100; i++ {
		forms = append(forms, fmt.Sprintf("LeakCore%02d", i))
	}
	return append(forms, "LeakCoreTeams", "LeakCoreKeyId")
}
