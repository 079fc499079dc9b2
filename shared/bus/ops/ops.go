// Package ops is what an operator of the hub does with the bus: read, tail
// and replay INTHUB_EVENTS, and list, show, redrive and purge the dead
// letters of INTHUB_DLQ. It speaks JetStream only, no HTTP: the ingress
// exposes it to operator tokens, and its tests drive it against an embedded
// server.
//
// Operators run the hub, so nothing here is scoped to a tenant unless the
// caller asks: a tenant id narrows a filter to that tenant's subjects.
package ops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Limits of one call.
const (
	// DefaultLimit is how many events or dead letters a page holds unless
	// the caller says otherwise.
	DefaultLimit = 100
	// MaxLimit is the largest page, and the most events one replay call
	// republishes.
	MaxLimit = 1000
	// DefaultBudget bounds the time one query or replay call spends reading
	// the stream; what it has by then is returned with a nextSeq.
	DefaultBudget = 5 * time.Second
)

// HeaderReplayedFrom names where a replayed event came from: <stream>:<seq>.
const HeaderReplayedFrom = "inthub-replayed-from"

// ErrNotFound says the dead letter does not exist (any more).
var ErrNotFound = errors.New("no such message")

// InvalidError is a parameter the caller has to fix.
type InvalidError struct {
	// Field is the parameter's name as the API spells it.
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + " " + e.Message }

func invalid(field, format string, args ...any) *InvalidError {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// BudgetError says a call ran out of its time budget before it read anything.
type BudgetError struct{ Budget time.Duration }

func (e *BudgetError) Error() string {
	return fmt.Sprintf("the stream gave nothing within %s", e.Budget)
}

// Options tune a Service; zero values take the defaults.
type Options struct {
	// Now is the clock that relative times ("15m") count back from.
	Now func() time.Time
	// Budget bounds one query, list or replay call (DefaultBudget).
	Budget time.Duration
}

// Service runs operator actions on the hub's streams.
type Service struct {
	js     jetstream.JetStream
	now    func() time.Time
	budget time.Duration
}

// New returns a Service on js.
func New(js jetstream.JetStream, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	return &Service{js: js, now: o.Now, budget: o.Budget}
}

// ParseTime reads an instant as RFC 3339, or as a duration before now
// ("90s", "15m", "2h", "3d").
func (s *Service) ParseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := parseDuration(v)
	if err != nil || d <= 0 {
		return time.Time{}, invalid(field, "%q is neither an RFC 3339 time (2025-01-31T09:00:00Z) nor a positive duration before now (90s, 15m, 2h, 3d)", v)
	}
	return s.now().Add(-d), nil
}

// parseDuration is time.ParseDuration plus whole days ("3d").
func parseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// Body is a message's payload as JSON can carry it: data when it is JSON
// (events always are), else text when it is UTF-8, else base64. A dead
// letter is often there because its body is not JSON.
type Body struct {
	Data       json.RawMessage `json:"data,omitempty"`
	DataText   string          `json:"dataText,omitempty"`
	DataBase64 string          `json:"dataBase64,omitempty"`
}

func bodyOf(b []byte) Body {
	switch {
	case len(b) == 0:
		return Body{}
	case json.Valid(b):
		return Body{Data: json.RawMessage(b)}
	case utf8.Valid(b):
		return Body{DataText: string(b)}
	}
	return Body{DataBase64: base64.StdEncoding.EncodeToString(b)}
}

// Event is one stored message of INTHUB_EVENTS.
type Event struct {
	Stream   string            `json:"stream"`
	Sequence uint64            `json:"sequence"`
	Subject  string            `json:"subject"`
	Time     time.Time         `json:"time"`
	Headers  map[string]string `json:"headers"`
	Body

	// header and data are the message as stored, for a republish.
	header nats.Header
	data   []byte
}

// headerMap keeps the first value of each header.
func headerMap(h nats.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// republishHeaders copies h for a new publish without the server's own
// headers (Nats-*: the msg id, expectations, those a stream adds) and
// without those drop says to leave behind.
func republishHeaders(h nats.Header, drop func(key string) bool) nats.Header {
	out := nats.Header{}
	for k, v := range h {
		if strings.HasPrefix(strings.ToLower(k), "nats-") || (drop != nil && drop(k)) {
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

// originalID is the id of the event a message carries: ce-id, else its
// Nats-Msg-Id. ce-id first, so a message redriven twice is
// redrive:<seq>:<id>, not redrive:<seq>:redrive:<seq>:<id>.
func originalID(h nats.Header) string {
	if id := h.Get("ce-id"); id != "" {
		return id
	}
	return h.Get(nats.MsgIdHdr)
}

// checkLimit applies the default and refuses a limit outside 1..max.
func checkLimit(limit, def, max int) (int, error) {
	switch {
	case limit == 0:
		return def, nil
	case limit < 0 || limit > max:
		return 0, invalid("limit", "must be from 1 to %d", max)
	}
	return limit, nil
}

// deleteConsumer removes an ordered consumer once it is done, instead of
// leaving it to its inactivity threshold.
func (s *Service) deleteConsumer(stream string, c jetstream.Consumer) {
	info := c.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.js.DeleteConsumer(ctx, stream, info.Name)
}

// consumerInactivity is the backstop that removes a reader's consumer when
// the process that made it died before deleting it.
const consumerInactivity = time.Minute
