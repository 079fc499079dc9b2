// Package opsgeniefake is a fake OpsGenie for tests, written from the Alert
// and Schedule API references: every call needs "Authorization: GenieKey
// <key>"; create validates the payload as OpsGenie does (message 1..130,
// alias <= 512, priority P1..P5, at most 20 tags) and answers 422 with
// OpsGenie's error body otherwise; alerts are kept by alias, so a second
// create with an open alias increases its count instead of opening another;
// close by alias closes it. It counts every call.
package opsgeniefake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Alert is the state of one alias.
type Alert struct {
	Alias    string
	Message  string
	Priority string
	Status   string // "open" or "closed"
	Count    int
	Details  map[string]string
	Tags     []string
}

// Schedule is a schedule the fake knows, with who is on call.
type Schedule struct {
	ID, Name string
	OnCall   []string
}

// Server is the fake.
type Server struct {
	*httptest.Server
	key string

	mu        sync.Mutex
	alerts    map[string]*Alert
	schedules []Schedule
	calls     map[string]int // "create", "close", "list", "oncall", "unauthorized", "invalid"
	forced    []forced
	readOnly  bool
	throttle  int // > 0: every authenticated call is throttled for this period
}

type forced struct {
	status int
	header http.Header
	body   string
}

// New starts a fake accepting key.
func New(t testing.TB, key string) *Server {
	t.Helper()
	s := &Server{key: key, alerts: map[string]*Alert{}, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// AddSchedule adds a schedule.
func (s *Server) AddSchedule(sc Schedule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schedules = append(s.schedules, sc)
}

// CreateOnly makes the key lack read access: reads answer 403.
func (s *Server) CreateOnly() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOnly = true
}

// Throttle makes every following authenticated call answer as OpsGenie
// throttles an API key: 429 with X-RateLimit-State THROTTLED and the
// period, periodSeconds, in X-RateLimit-Period-In-Sec.
func (s *Server) Throttle(periodSeconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = periodSeconds
}

// Force makes the next alert API calls answer status, once each, in order.
func (s *Server) Force(status int, header http.Header, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced = append(s.forced, forced{status, header, body})
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func reply(w http.ResponseWriter, status int, v map[string]any) {
	v["took"] = 0.012
	v["requestId"] = newRequestID()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-ID", v["requestId"].(string))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func unprocessable(w http.ResponseWriter, field, problem string) {
	reply(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Request body is not processable. Please check the errors.",
		"errors":  map[string]string{field: problem},
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "GenieKey "+s.key {
		s.calls["unauthorized"]++
		reply(w, http.StatusUnauthorized, map[string]any{"message": "Could not authenticate"})
		return
	}
	if s.throttle > 0 {
		w.Header().Set("X-RateLimit-State", "THROTTLED")
		w.Header().Set("X-RateLimit-Reason", "INTEGRATION")
		w.Header().Set("X-RateLimit-Period-In-Sec", strconv.Itoa(s.throttle))
		reply(w, http.StatusTooManyRequests, map[string]any{"message": "Rate limit exceeded"})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v2/alerts") && len(s.forced) > 0 {
		f := s.forced[0]
		s.forced = s.forced[1:]
		s.calls["forced"]++
		for k, v := range f.header {
			w.Header()[k] = v
		}
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
		return
	}
	switch {
	case r.URL.Path == "/v2/alerts" && r.Method == http.MethodPost:
		s.create(w, r)
	case r.URL.Path == "/v2/alerts" && r.Method == http.MethodGet:
		s.list(w, r)
	case strings.HasPrefix(r.URL.Path, "/v2/alerts/") && strings.HasSuffix(r.URL.Path, "/close") && r.Method == http.MethodPost:
		s.close(w, r)
	case strings.HasPrefix(r.URL.Path, "/v2/schedules/") && strings.HasSuffix(r.URL.Path, "/on-calls") && r.Method == http.MethodGet:
		s.onCall(w, r)
	default:
		reply(w, http.StatusNotFound, map[string]any{"message": "Could not find the requested resource"})
	}
}

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		reply(w, http.StatusBadRequest, map[string]any{"message": "Content-Type must be application/json"})
		return false
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		reply(w, http.StatusBadRequest, map[string]any{"message": "Invalid JSON body"})
		return false
	}
	return true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Message     string            `json:"message"`
		Alias       string            `json:"alias"`
		Description string            `json:"description"`
		Tags        []string          `json:"tags"`
		Details     map[string]string `json:"details"`
		Source      string            `json:"source"`
		Priority    string            `json:"priority"`
	}
	if !decodeJSON(w, r, &body) {
		s.calls["invalid"]++
		return
	}
	problem := func(field, p string) { s.calls["invalid"]++; unprocessable(w, field, p) }
	switch {
	case strings.TrimSpace(body.Message) == "":
		problem("message", "Message can not be empty.")
		return
	case len([]rune(body.Message)) > 130:
		problem("message", "Message can not be longer than 130 characters.")
		return
	case len(body.Alias) > 512:
		problem("alias", "Alias can not be longer than 512 characters.")
		return
	case len(body.Description) > 15000:
		problem("description", "Description can not be longer than 15000 characters.")
		return
	case len(body.Tags) > 20:
		problem("tags", "Tags can not have more than 20 elements.")
		return
	case len(body.Source) > 100:
		problem("source", "Source can not be longer than 100 characters.")
		return
	}
	switch body.Priority {
	case "", "P1", "P2", "P3", "P4", "P5":
	default:
		problem("priority", "Priority should be one of [P1, P2, P3, P4, P5]")
		return
	}
	s.calls["create"]++
	key := body.Alias
	if key == "" {
		key = newRequestID()
	}
	a := s.alerts[key]
	if a == nil || a.Status == "closed" {
		a = &Alert{Alias: key}
		s.alerts[key] = a
	}
	a.Message, a.Priority, a.Status, a.Details, a.Tags = body.Message, body.Priority, "open", body.Details, body.Tags
	a.Count++
	reply(w, http.StatusAccepted, map[string]any{"result": "Request will be processed"})
}

func (s *Server) close(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), "/v2/alerts/"), "/close")
	switch r.URL.Query().Get("identifierType") {
	case "alias":
	case "", "id", "tiny":
		// The fake keeps alerts by alias only; asking by id is a test bug.
		reply(w, http.StatusBadRequest, map[string]any{"message": "the fake closes by alias only"})
		return
	default:
		s.calls["invalid"]++
		unprocessable(w, "identifierType", "Identifier type should be one of [id, alias, tiny]")
		return
	}
	if r.ContentLength != 0 {
		var body struct {
			Source, Note, User string
		}
		if !decodeJSON(w, r, &body) {
			return
		}
	}
	s.calls["close"]++
	// Close is asynchronous: an unknown alias is accepted too; the request
	// status (not faked) would say it failed.
	if a := s.alerts[unescape(id)]; a != nil {
		a.Status = "closed"
	}
	reply(w, http.StatusAccepted, map[string]any{"result": "Request will be processed"})
}

func unescape(p string) string {
	out, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return out
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.calls["list"]++
	if s.readOnly {
		reply(w, http.StatusForbidden, map[string]any{"message": "You are not authorized for this operation"})
		return
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			unprocessable(w, "limit", "Limit should be between 1 and 100")
			return
		}
	}
	data := []map[string]any{}
	for _, a := range s.alerts {
		data = append(data, map[string]any{"alias": a.Alias, "message": a.Message, "status": a.Status, "count": a.Count})
	}
	reply(w, http.StatusOK, map[string]any{"data": data})
}

func (s *Server) onCall(w http.ResponseWriter, r *http.Request) {
	s.calls["oncall"]++
	if s.readOnly {
		reply(w, http.StatusForbidden, map[string]any{"message": "You are not authorized for this operation"})
		return
	}
	id := unescape(strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), "/v2/schedules/"), "/on-calls"))
	byName := r.URL.Query().Get("scheduleIdentifierType") == "name"
	for _, sc := range s.schedules {
		if (byName && sc.Name == id) || (!byName && sc.ID == id) {
			parent := map[string]any{"id": sc.ID, "name": sc.Name, "enabled": true}
			if r.URL.Query().Get("flat") == "true" {
				reply(w, http.StatusOK, map[string]any{"data": map[string]any{"_parent": parent, "onCallRecipients": sc.OnCall}})
				return
			}
			var parts []map[string]any
			for _, u := range sc.OnCall {
				parts = append(parts, map[string]any{"name": u, "type": "user"})
			}
			reply(w, http.StatusOK, map[string]any{"data": map[string]any{"_parent": parent, "onCallParticipants": parts}})
			return
		}
	}
	reply(w, http.StatusNotFound, map[string]any{"message": "Schedule with identifier [" + id + "] does not exist"})
}

// Alert returns the alert of alias.
func (s *Server) Alert(alias string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[alias]
	if !ok {
		return Alert{}, false
	}
	return *a, true
}

// Calls returns how many calls of a kind arrived: "create", "close",
// "list", "oncall" (accepted ones), "invalid", "unauthorized", "forced".
func (s *Server) Calls(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}
