package connectors

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/stella-ops/inthub/shared/contracts"
	"github.com/stella-ops/inthub/shared/resilience"
)

// Bounds of a metrics query, the same for every provider.
const (
	// MaxQueryLength bounds the text of a query.
	MaxQueryLength = 64 << 10
	// MaxQueryPoints bounds the points a range query may ask per series
	// ((end-start)/step), as Prometheus does (11,000).
	MaxQueryPoints = 11000
)

// ErrBadQuery marks an error as the caller's query being wrong (a syntax
// error, an unknown function, a range that cannot be asked): no retry
// fixes it, and a service refuses it with 400 INVALID_METRICS_QUERY rather
// than counting it against the provider. Test with errors.Is.
var ErrBadQuery = errors.New("bad metrics query")

// BadQuery is an INVALID_CONFIG error marked with ErrBadQuery.
func BadQuery(format string, args ...any) error {
	return &resilience.Error{Code: resilience.InvalidConfig, Message: fmt.Sprintf(format, args...), Err: ErrBadQuery}
}

// CheckMetricsQuery refuses a query no provider can run: an empty or huge
// text, a range without an end or a step, an end before its start, or more
// than MaxQueryPoints points per series. Providers call it before anything
// else, so a bad query is refused the same way everywhere.
func CheckMetricsQuery(q contracts.MetricsQuery) error {
	switch {
	case q.Query == "" || len(q.Query) > MaxQueryLength:
		return BadQuery("a query must be 1 to %d bytes long", MaxQueryLength)
	case q.Start == nil && (q.End != nil || q.StepSeconds != 0):
		return BadQuery("end and stepSeconds belong to a range query, which needs start")
	case q.Start == nil:
		return nil
	case q.Time != nil:
		return BadQuery("time is for an instant query; a range query has start and end")
	case q.End == nil || q.StepSeconds <= 0 || math.IsNaN(q.StepSeconds) || math.IsInf(q.StepSeconds, 0):
		return BadQuery("a range query needs start, end and a positive stepSeconds")
	case q.End.Before(*q.Start):
		return BadQuery("end is before start")
	}
	step := time.Duration(q.StepSeconds * float64(time.Second))
	if step < time.Millisecond {
		return BadQuery("stepSeconds must be at least 0.001")
	}
	if points := q.End.Sub(*q.Start)/step + 1; points > MaxQueryPoints {
		return BadQuery("the range asks %d points per series, more than %d: widen stepSeconds", points, MaxQueryPoints)
	}
	return nil
}

// KeepLatest is the answer of an instant query from a provider that has
// only ranges (Datadog, Dynatrace, New Relic): the latest point with a
// value, else the latest point, else none.
func KeepLatest(points []contracts.MetricPoint) []contracts.MetricPoint {
	for i := len(points) - 1; i >= 0; i-- {
		if points[i].Value != nil {
			return points[i : i+1]
		}
	}
	if len(points) > 0 {
		return points[len(points)-1:]
	}
	return points
}
