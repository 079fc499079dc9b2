package natstest

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// SubscribeSync subscribes nc to subject and returns once the server has
// the subscription, unsubscribing when t ends.
//
// nats.go writes SUB into the connection's buffer and sends it later, so
// a message published right after Subscribe on another connection can
// reach the server first and never be delivered here: a test waiting for
// it then times out, and a test checking that nothing leaked sees nothing.
// The flush is a round trip that the server answers only after the SUB.
func SubscribeSync(t testing.TB, nc *nats.Conn, subject string) *nats.Subscription {
	t.Helper()
	return subscribed(t, nc)(nc.SubscribeSync(subject))
}

// Subscribe is SubscribeSync with a handler.
func Subscribe(t testing.TB, nc *nats.Conn, subject string, fn nats.MsgHandler) *nats.Subscription {
	t.Helper()
	return subscribed(t, nc)(nc.Subscribe(subject, fn))
}

func subscribed(t testing.TB, nc *nats.Conn) func(*nats.Subscription, error) *nats.Subscription {
	return func(sub *nats.Subscription, err error) *nats.Subscription {
		t.Helper()
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
		if err := nc.Flush(); err != nil {
			t.Fatalf("subscribe %s: flush: %v", sub.Subject, err)
		}
		return sub
	}
}
