package cli

import (
	"context"
	"net/url"

	"github.com/stella-ops/inthub/shared/bus/ops"
)

// The CLI's views of the DLQ answers, named for the external tests.
type (
	DLQPageView    = ops.DLQPage
	DeadLetterView = ops.DeadLetterDetail
	RedrivenView   = ops.Redriven
	PurgeView      = ops.PurgeResult
)

// The client decodes into exactly these views: a CLI that re-declared its
// own types would not compile with its tests.
var (
	_ func(*client, context.Context, url.Values) (*response, DLQPageView, error)   = (*client).DeadLetters
	_ func(*client, context.Context, uint64) (*response, DeadLetterView, error)    = (*client).DeadLetter
	_ func(*client, context.Context, uint64) (*response, RedrivenView, error)      = (*client).Redrive
	_ func(*client, context.Context, ops.PurgeQuery) (*response, PurgeView, error) = (*client).PurgeDeadLetters
)
