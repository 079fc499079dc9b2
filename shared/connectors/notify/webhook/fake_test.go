package webhook

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint as a careful customer writes one: it
// verifies the signature and timestamp with VerifySignature and answers 401
// to a bad, missing or stale one, checks Authorization when told to, and
// counts every call.
type receiver struct {
	srv             *httptest.Server
	secret          string // "" accepts unsigned deliveries
	signatureHeader string
	authorization   string // required Authorization value; "" = none checked
	allowHead       bool   // false: HEAD answers 405, as many POST-only endpoints do

	mu         sync.Mutex
	forced     int         // status every POST gets; 0 = the normal answer
	forcedHdr  http.Header // headers sent with forced
	calls      map[string]int
	rejected   int
	deliveries []delivery
}

// delivery is one accepted POST.
type delivery struct {
	header  http.Header
	body    []byte
	payload Payload
}

func newReceiver(t *testing.T, secret string) *receiver {
	t.Helper()
	r := &receiver{secret: secret, signatureHeader: DefaultSignatureHeader, calls: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// force makes every following POST answer status with header.
func (r *receiver) force(status int, header http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forced, r.forcedHdr = status, header
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[req.Method]++
	switch req.Method {
	case http.MethodHead:
		if !r.allowHead {
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
		return
	case http.MethodGet:
		io.WriteString(w, "webhook receiver\n")
		return
	case http.MethodPost:
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.forced != 0 {
		for k, v := range r.forcedHdr {
			w.Header()[k] = v
		}
		w.WriteHeader(r.forced)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if r.secret != "" {
		err := VerifySignature(r.secret, req.Header.Get(HeaderTimestamp), string(body),
			req.Header.Get(r.signatureHeader), time.Now(), time.Minute)
		if err != nil {
			r.rejected++
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
	}
	if r.authorization != "" && req.Header.Get("Authorization") != r.authorization {
		r.rejected++
		http.Error(w, `{"error":"bad credentials"}`, http.StatusUnauthorized)
		return
	}
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "want application/json", http.StatusUnsupportedMediaType)
		return
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	r.deliveries = append(r.deliveries, delivery{header: req.Header.Clone(), body: body, payload: p})
	w.WriteHeader(http.StatusNoContent)
}

// count returns the calls of a method so far.
func (r *receiver) count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[method]
}

// accepted returns the deliveries accepted so far.
func (r *receiver) accepted() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.deliveries...)
}

// rejections returns how many deliveries failed verification.
func (r *receiver) rejections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}
