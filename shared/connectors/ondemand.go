package connectors

import "context"

// onDemandKey marks a context of an explicit test.
type onDemandKey struct{}

// OnDemand marks ctx as an explicit test that a caller asked for
// (POST /integrations/{id}/test, integration.test.requested), as opposed to
// a scheduled check. A connector whose only real proof of a level has a
// side effect at the target — a webhook receiver that can only be asked by
// delivering something — does that only on demand: scheduled checks run
// every few minutes and must leave the target untouched.
func OnDemand(ctx context.Context) context.Context {
	return context.WithValue(ctx, onDemandKey{}, true)
}

// IsOnDemand reports whether ctx is an explicit test (see OnDemand).
func IsOnDemand(ctx context.Context) bool {
	v, _ := ctx.Value(onDemandKey{}).(bool)
	return v
}
