package httpx

import (
	"errors"
	"net/http"
	"sync"

	"github.com/stella-ops/inthub/shared/resilience"
)

// Recorder keeps the first coded failure (the guard's DESTINATION_BLOCKED
// above all) of the requests sent through the client Recording returned it
// with. Some SDKs flatten a transport error into text (x/oauth2 writes
// "cannot fetch token: %v", Microsoft's MSAL does the same), so the code is
// gone by the time the caller sees the error; the Recorder still has it.
type Recorder struct {
	mu    sync.Mutex
	first *resilience.Error
}

// Failure returns the first coded failure, or nil when every request got
// an answer (an HTTP error status is an answer, not a failure).
func (r *Recorder) Failure() *resilience.Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

func (r *Recorder) keep(err error) {
	var coded *resilience.Error
	if !errors.As(err, &coded) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil {
		r.first = coded
	}
}

// Recording returns an *http.Client on c's transport (the same guard,
// timeout, TLS settings and connection pool) whose coded failures are also
// kept in the returned Recorder. Make one per SDK call, so that failures of
// other calls do not mix in.
func (c *Client) Recording() (*http.Client, *Recorder) {
	rec := &Recorder{}
	hc := &http.Client{
		Transport: recordingTransport{base: c.hc.Transport, rec: rec},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			err := c.hc.CheckRedirect(req, via)
			rec.keep(err)
			return err
		},
		Timeout: c.hc.Timeout,
	}
	return hc, rec
}

// recordingTransport passes every request to base and keeps its coded
// failures.
type recordingTransport struct {
	base http.RoundTripper
	rec  *Recorder
}

// RoundTrip implements http.RoundTripper.
func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.rec.keep(err)
	}
	return resp, err
}
