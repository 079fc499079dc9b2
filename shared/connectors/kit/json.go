package kit

import (
	"encoding/json"
	"io"

	"github.com/stella-ops/inthub/shared/resilience"
)

// DecodeJSON decodes one JSON value from r, reading at most limit bytes (0
// is DefaultMaxBody). An answer that is not JSON, or is cut by the limit,
// is UPSTREAM_ERROR: the server did not answer as its API says.
func DecodeJSON(r io.Reader, limit int64, out any) error {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if err := json.NewDecoder(io.LimitReader(r, limit)).Decode(out); err != nil {
		return resilience.Wrap(resilience.UpstreamError, err, "the answer is not the JSON the API documents")
	}
	return nil
}
