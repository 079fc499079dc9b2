package kit

import (
	"io"
	"net/http"
)

// drainLimit is how much of a leftover body is read so the connection can
// be reused; a longer body costs a new connection, not a stall.
const drainLimit = 64 << 10

// Drain reads what is left of a response body (up to 64 KiB) and closes
// it, so the connection goes back to the pool. A nil response is ignored.
func Drain(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	_ = resp.Body.Close()
}
