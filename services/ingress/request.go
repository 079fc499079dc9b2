package ingress

import (
	"context"
	"net/http"
	"net/textproto"
)

// requestState is what the ingress keeps of one request, made once by
// observe: the status recorder, the caller its access-log line names and the
// principal authed found. It is also the request's context (the one observe
// hands on), answering principalOf and stateOf itself, so a request costs one
// allocation here and one Request.WithContext instead of a context value for
// the caller, another for the principal (with the principal copied to the
// heap) and a second copy of the request in authed.
type requestState struct {
	context.Context
	rec statusRecorder
	// req is the request observe handed on: authed keeps the principal
	// here only for it. A request made in-process under it (the console
	// calls the API with the session's token) gets its principal in a
	// context of its own, as before.
	req *http.Request
	// principal is req's, once authed has checked its token; authedReq
	// says it is set.
	principal Principal
	authedReq bool
	// caller is who the access-log line names: the principal of the last
	// authenticated request under this one (req's own, or the console's
	// in-process calls'); callerOK says there is one.
	caller   Principal
	callerOK bool
}

type (
	principalKey    struct{}
	requestStateKey struct{}
)

// Value answers the request's own keys and asks the context below it for
// the others.
func (s *requestState) Value(key any) any {
	switch key.(type) {
	case requestStateKey:
		return s
	case principalKey:
		if s.authedReq {
			return &s.principal
		}
	}
	return s.Context.Value(key)
}

// stateOf is the state observe made for the request of ctx, or nil.
func stateOf(ctx context.Context) *requestState {
	s, _ := ctx.Value(requestStateKey{}).(*requestState)
	return s
}

// principalOf is who authed found the request of ctx to stand for (the
// zero Principal outside authed).
func principalOf(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok {
		return *p
	}
	return Principal{}
}

// withPrincipal hands r on to next as p's. The request observe made its
// state for keeps p in that state (no second context or request copy); any
// other (made in-process under it, or outside observe) gets a context
// value. Either way the access-log line names p.
func withPrincipal(next http.Handler, w http.ResponseWriter, r *http.Request, p Principal) {
	st := stateOf(r.Context())
	if st != nil {
		st.caller, st.callerOK = p, true
		if st.req == r && !st.authedReq {
			st.principal, st.authedReq = p, true
			next.ServeHTTP(w, r)
			return
		}
	}
	own := p // on the heap only on this path: p itself stays on the stack
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, &own)))
}

// traceHeaders is a request's headers as the trace-context propagator reads
// them: its two keys are looked up in their canonical form directly, where
// http.Header.Get would canonicalize "traceparent" (a new string) at every
// request.
type traceHeaders http.Header

func (h traceHeaders) Get(key string) string {
	switch key {
	case "traceparent":
		key = "Traceparent"
	case "tracestate":
		key = "Tracestate"
	default:
		key = textproto.CanonicalMIMEHeaderKey(key)
	}
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h traceHeaders) Set(key, value string) { http.Header(h).Set(key, value) }

func (h traceHeaders) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}
