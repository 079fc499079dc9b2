package httpx

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"hash"
	"net/http"
	"runtime"
	"sync"
	"time"
	"weak"
)

// baseTransport is the pooled *http.Transport, with its TLS config and dial
// guard, that every Client whose settings change nothing in it shares: a hub
// with 100,000 integrations on the same timeout and TLS options holds one
// instead of 100,000 (each with its own idle pool, TLS config and dialer).
// A connection is only ever reused by a client whose transport settings are
// identical (same policy, timeout, CA, client certificate and verification
// flag), so one integration's certificate or CA never serves another with
// different TLS settings; what stays per integration (limits, user agent,
// scrubbing, logs, metrics, spans, redirects) lives in the Client and its
// wrapping transport. Requests carry their credentials in headers, which the
// pool does not keep.
type baseTransport struct {
	rt *http.Transport
}

// baseKey identifies a transport's behaviour: a digest of everything the
// transport, its TLS config and its dial guard are built from, and the
// policy's machine address list (tests give their own).
type baseKey struct {
	digest  [sha256.Size]byte
	machine *machineAddrs
}

// bases holds the shared transports weakly: the clients (and the
// *http.Client handed to SDKs) keep theirs alive, and once the last of them
// is gone (its integrations deleted or reconfigured) the entry is removed and
// the idle connections are closed (IdleConnTimeout closes them meanwhile).
var bases = struct {
	mu sync.Mutex
	m  map[baseKey]weak.Pointer[baseTransport]
}{m: map[baseKey]weak.Pointer[baseTransport]{}}

// baseFor returns the transport for opts (already through withDefaults). A
// dial hook's identity cannot be compared, so a client with one gets a
// transport of its own.
func baseFor(opts Options, afterCheck func(network, address string) error) (*baseTransport, error) {
	if afterCheck != nil {
		return newBaseTransport(opts, afterCheck)
	}
	k := keyOf(opts)
	if b := lookupBase(k); b != nil {
		return b, nil
	}
	// Built outside the lock: a CA bundle copies the system pool.
	b, err := newBaseTransport(opts, nil)
	if err != nil {
		return nil, err
	}
	bases.mu.Lock()
	defer bases.mu.Unlock()
	if cur := bases.m[k].Value(); cur != nil {
		return cur, nil // built meanwhile by another client with the same settings
	}
	bases.m[k] = weak.Make(b)
	runtime.AddCleanup(b, forgetBase, k)
	runtime.AddCleanup(b, (*http.Transport).CloseIdleConnections, b.rt)
	return b, nil
}

func lookupBase(k baseKey) *baseTransport {
	bases.mu.Lock()
	defer bases.mu.Unlock()
	return bases.m[k].Value()
}

// forgetBase removes k's entry once its transport is gone, unless a new one
// was stored under k since.
func forgetBase(k baseKey) {
	bases.mu.Lock()
	defer bases.mu.Unlock()
	if wp, ok := bases.m[k]; ok && wp.Value() == nil {
		delete(bases.m, k)
	}
}

// newBaseTransport builds the guarded transport for opts.
func newBaseTransport(opts Options, afterCheck func(network, address string) error) (*baseTransport, error) {
	tlsCfg, err := opts.tlsConfig()
	if err != nil {
		return nil, err
	}
	guard := newDialGuard(opts.Policy, opts.Timeout, afterCheck)
	return &baseTransport{rt: &http.Transport{
		Proxy:             nil, // see the package doc: a proxy would dial out of the guard's sight
		DialContext:       guard.dialContext,
		TLSClientConfig:   tlsCfg,
		ForceAttemptHTTP2: true,
		// The pool serves every integration with these settings, not one:
		// no total cap (a hub's integrations reach many hosts, and each
		// used to keep its own 100; IdleConnTimeout bounds them), and room
		// per host for the checks that run at once against one server (16
		// workers by default), which each integration's own 10 used to give.
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}, nil
}

// keyOf digests every option newBaseTransport reads: the timeout (the
// dialer's), the TLS options (verification flag, CA, client certificate and
// key) and the guard policy (AllowPrivate, the normalized CIDRs in order).
// Each variable-length field is length-prefixed so no two settings collide
// by concatenation. Add any option newBaseTransport starts reading here.
func keyOf(o Options) baseKey {
	h := sha256.New()
	num := func(v uint64) { h.Write(binary.BigEndian.AppendUint64(nil, v)) }
	bytes := func(b []byte) { num(uint64(len(b))); h.Write(b) }
	num(uint64(o.Timeout))
	num(b2u(o.InsecureSkipVerify))
	num(uint64(tls.VersionTLS12))
	bytes(o.CACertPEM)
	bytes(o.ClientCertPEM)
	bytes(o.ClientKeyPEM)
	num(b2u(o.Policy.AllowPrivate))
	num(uint64(len(o.Policy.AllowCIDRs)))
	for _, p := range o.Policy.AllowCIDRs {
		b, _ := p.MarshalBinary()
		bytes(b)
	}
	return baseKey{digest: sum(h), machine: o.Policy.machine}
}

func sum(h hash.Hash) (d [sha256.Size]byte) {
	h.Sum(d[:0])
	return d
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
