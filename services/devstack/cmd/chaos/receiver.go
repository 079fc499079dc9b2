package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/stella-ops/inthub/shared/connectors/notify/webhook"
)

// requestKey is the data field of a notification request that names it in
// the webhook payload, so the receiver counts deliveries per request.
const requestKey = "chaosRequestId"

// delivered is what the receiver saw of one notification request.
type delivered struct {
	// times of every POST carrying the request.
	times []time.Time
	// ids counts the POSTs per X-Inthub-Delivery (a redelivery keeps its id).
	ids map[string]int
}

// receiver is the webhook endpoint the notifier delivers to: it accepts
// every POST and counts it by request and by delivery id.
type receiver struct {
	srv *http.Server
	url string

	mu    sync.Mutex
	by    map[string]*delivered
	other int // POSTs without a request id (none are expected)
}

// startReceiver listens on a free loopback port.
func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hook", by: map[string]*delivered{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// ServeHTTP implements http.Handler: GET and HEAD (connectivity checks)
// answer 200, a POST is counted.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.WriteHeader(http.StatusOK)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var p webhook.Payload
	_ = json.Unmarshal(body, &p)
	id, _ := p.Data[requestKey].(string)
	r.mu.Lock()
	if id == "" {
		r.other++
	} else {
		d := r.by[id]
		if d == nil {
			d = &delivered{ids: map[string]int{}}
			r.by[id] = d
		}
		d.times = append(d.times, time.Now())
		d.ids[req.Header.Get(webhook.HeaderDelivery)]++
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// snapshot copies the counts.
func (r *receiver) snapshot() map[string]delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]delivered, len(r.by))
	for k, d := range r.by {
		ids := make(map[string]int, len(d.ids))
		for id, n := range d.ids {
			ids[id] = n
		}
		out[k] = delivered{times: append([]time.Time(nil), d.times...), ids: ids}
	}
	return out
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}
