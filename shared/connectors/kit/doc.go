// Package kit is what every HTTP connector shares, so a provider is its API
// calls and nothing else: base URL parsing and path joining, JSON requests
// over the guarded *httpx.Client with httpx's error codes, draining bodies,
// pagination (RFC 8288 Link headers, opaque cursors, page/offset windows and
// the loop that fills a filtered discovery page), credentials rendered as
// request headers, name-pattern filtering and page-size clamping.
//
// Each file holds one job. Nothing here keeps state: the connector owns its
// Client, cursors and credentials and hands them in per call.
package kit
