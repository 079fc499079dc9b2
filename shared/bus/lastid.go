package bus

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// LastID answers whether the last message stored on a subject of one
// stream carries a given message id. A writer that publishes a subject one
// message at a time uses it to find a message whose ack was lost, also past
// the stream's duplicate window (the lifecycle and audit outboxes).
type LastID struct {
	js     jetstream.JetStream
	stream string
	mu     sync.Mutex
	st     jetstream.Stream // looked up at the first call
}

// NewLastID reads stream through js.
func NewLastID(js jetstream.JetStream, stream string) *LastID {
	return &LastID{js: js, stream: stream}
}

// Is says whether the last message on subject has id; false also when it
// cannot be read (the caller then publishes, and the duplicate window or
// the reader's idempotence covers a repeat).
func (l *LastID) Is(ctx context.Context, subject, id string) bool {
	l.mu.Lock()
	st := l.st
	l.mu.Unlock()
	if st == nil {
		s, err := l.js.Stream(ctx, l.stream)
		if err != nil {
			return false
		}
		l.mu.Lock()
		l.st, st = s, s
		l.mu.Unlock()
	}
	m, err := st.GetLastMsgForSubject(ctx, subject)
	return err == nil && m.Header.Get(HeaderMsgID) == id
}
