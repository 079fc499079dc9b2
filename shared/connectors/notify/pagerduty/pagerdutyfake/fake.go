// Package pagerdutyfake is a fake PagerDuty for tests, written from the
// Events API v2 and REST API references: POST /v2/enqueue validates events
// as PagerDuty does (routing key, action, summary, source, severity, dedup
// key length) and keeps alerts by dedup key; GET /abilities checks the REST
// API key. It counts every call, so tests can assert "triggered once".
package pagerdutyfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// Event is one accepted event, as received.
type Event struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Payload     *struct {
		Summary       string         `json:"summary"`
		Source        string         `json:"source"`
		Severity      string         `json:"severity"`
		Timestamp     string         `json:"timestamp"`
		CustomDetails map[string]any `json:"custom_details"`
	} `json:"payload"`
	// Dropped is true for an acknowledge or resolve of no open alert, which
	// PagerDuty accepts and drops.
	Dropped bool `json:"-"`
}

// Alert is the state of one dedup key.
type Alert struct {
	DedupKey string
	Status   string // "triggered" or "resolved"
	Triggers int
	Summary  string
	Severity string
}

// Server is the fake.
type Server struct {
	*httptest.Server
	routingKey string
	apiKey     string

	mu        sync.Mutex
	events    []Event
	rejected  int
	alerts    map[string]*Alert
	forced    []forced
	enqueueN  int
	abilities int
	throttle  int // > 0: every call answers 429 with this Retry-After
}

type forced struct {
	status int
	header http.Header
	body   string
}

// New starts a fake accepting routingKey (32 characters) on the Events API
// and apiKey on the REST API ("" refuses every REST call).
func New(t testing.TB, routingKey, apiKey string) *Server {
	t.Helper()
	s := &Server{routingKey: routingKey, apiKey: apiKey, alerts: map[string]*Alert{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/enqueue", s.enqueue)
	mux.HandleFunc("/abilities", s.abilitiesHandler)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Force makes the next enqueue calls answer status with header and body,
// once each, in order (a 429 then a 500, say).
func (s *Server) Force(status int, header http.Header, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced = append(s.forced, forced{status: status, header: header, body: body})
}

// Throttle makes every following call, on both APIs, answer 429 with
// Retry-After: retryAfter and PagerDuty's throttle body.
func (s *Server) Throttle(retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = retryAfter
}

// throttled answers a throttled call; false when calls are not throttled.
func (s *Server) throttled(w http.ResponseWriter) bool {
	if s.throttle == 0 {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(s.throttle))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"status": "throttle event", "message": "Requests for this service are arriving too quickly.  Please retry later."})
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func invalid(w http.ResponseWriter, errs ...string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
}

func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueN++
	if s.throttled(w) {
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if len(s.forced) > 0 {
		f := s.forced[0]
		s.forced = s.forced[1:]
		for k, v := range f.header {
			w.Header()[k] = v
		}
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.rejected++
		invalid(w, "Content-Type must be application/json")
		return
	}
	var ev Event
	if err := json.NewDecoder(io.LimitReader(r.Body, 512<<10)).Decode(&ev); err != nil {
		s.rejected++
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid request", "message": "Invalid JSON", "errors": []string{err.Error()}})
		return
	}
	if errs := s.validate(ev); len(errs) > 0 {
		s.rejected++
		invalid(w, errs...)
		return
	}
	switch ev.EventAction {
	case "trigger":
		if ev.DedupKey == "" {
			ev.DedupKey = randomKey()
		}
		a := s.alerts[ev.DedupKey]
		if a == nil || a.Status == "resolved" {
			a = &Alert{DedupKey: ev.DedupKey}
			s.alerts[ev.DedupKey] = a
		}
		a.Status, a.Triggers, a.Summary, a.Severity = "triggered", a.Triggers+1, ev.Payload.Summary, ev.Payload.Severity
	case "resolve", "acknowledge":
		a := s.alerts[ev.DedupKey]
		if a == nil || a.Status == "resolved" {
			ev.Dropped = true
		} else if ev.EventAction == "resolve" {
			a.Status = "resolved"
		}
	}
	s.events = append(s.events, ev)
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func (s *Server) validate(ev Event) []string {
	var errs []string
	switch {
	case len(ev.RoutingKey) != 32:
		errs = append(errs, "Length of 'routing_key' is incorrect (should be 32 characters)")
	case ev.RoutingKey != s.routingKey:
		errs = append(errs, "Invalid routing key")
	}
	switch ev.EventAction {
	case "trigger":
		switch {
		case ev.Payload == nil:
			errs = append(errs, "'payload' is missing or blank")
		default:
			if ev.Payload.Summary == "" || len(ev.Payload.Summary) > 1024 {
				errs = append(errs, "'payload.summary' is missing, blank or longer than 1024 characters")
			}
			if ev.Payload.Source == "" {
				errs = append(errs, "'payload.source' is missing or blank")
			}
			switch ev.Payload.Severity {
			case "critical", "error", "warning", "info":
			default:
				errs = append(errs, "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')")
			}
		}
	case "acknowledge", "resolve":
		if ev.DedupKey == "" {
			errs = append(errs, "'dedup_key' is missing or blank")
		}
	default:
		errs = append(errs, "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')")
	}
	if len(ev.DedupKey) > 255 {
		errs = append(errs, "'dedup_key' is longer than 255 characters")
	}
	return errs
}

func (s *Server) abilitiesHandler(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abilities++
	if s.throttled(w) {
		return
	}
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if s.apiKey == "" || r.Header.Get("Authorization") != "Token token="+s.apiKey {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"message": "Unauthorized", "code": 2006}})
		return
	}
	if r.Header.Get("Accept") != "application/vnd.pagerduty+json;version=2" {
		writeJSON(w, http.StatusNotAcceptable, map[string]any{"error": map[string]any{"message": "Not Acceptable", "code": 2001}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"abilities": []string{"teams", "read_only_users", "sso"}})
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Events returns the accepted events so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Count returns how many accepted events had action for dedupKey ("" = any
// key), dropped ones included.
func (s *Server) Count(action, dedupKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e.EventAction == action && (dedupKey == "" || e.DedupKey == dedupKey) {
			n++
		}
	}
	return n
}

// Alert returns the alert of dedupKey.
func (s *Server) Alert(dedupKey string) (Alert, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[dedupKey]
	if !ok {
		return Alert{}, false
	}
	return *a, true
}

// Calls returns how many enqueue calls arrived (accepted, rejected or forced).
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueueN
}

// Rejected returns how many events were refused with 400.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}
