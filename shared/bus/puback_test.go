package bus_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stella-ops/inthub/shared/bus"
	"github.com/stella-ops/inthub/shared/natstest"
)

// TestPublishMsgAnswersAsTheJetStreamClient publishes each message twice,
// with the JetStream client's PublishMsg and with the bus's own (which reads
// the server's answer without encoding/json), and wants the same ack or the
// same error from both: a stored message, a duplicate, the server's refusals
// (a failed expectation, a message too large for the stream) and a subject
// no stream takes.
func TestPublishMsgAnswersAsTheJetStreamClient(t *testing.T) {
	s := natstest.Start(t)
	nc, js := natstest.Connect(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "PUBACK", Subjects: []string{"puback.>"}, MaxMsgSize: 64, Duplicates: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	msg := func(subject, id string, hdr map[string]string, data string) *nats.Msg {
		m := nats.NewMsg(subject)
		m.Data = []byte(data)
		if id != "" {
			m.Header.Set(jetstream.MsgIDHeader, id)
		}
		for k, v := range hdr {
			m.Header.Set(k, v)
		}
		return m
	}
	tests := []struct {
		name string
		// first is published before the pair, by the client, when set.
		first *nats.Msg
		m     func() *nats.Msg
		// stored: both publishes store a message, the bus's the next one.
		stored bool
	}{
		{name: "stored", m: func() *nats.Msg { return msg("puback.a", "", nil, "x") }, stored: true},
		{name: "duplicate", first: msg("puback.b", "dup-1", nil, "x"), m: func() *nats.Msg { return msg("puback.b", "dup-1", nil, "x") }},
		{name: "expectation failed", m: func() *nats.Msg {
			return msg("puback.c", "", map[string]string{jetstream.ExpectedLastSeqHeader: "999999"}, "x")
		}},
		{name: "too large", m: func() *nats.Msg { return msg("puback.d", "", nil, string(make([]byte, 100))) }},
		{name: "no stream", m: func() *nats.Msg { return msg("nostream.e", "", nil, "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.first != nil {
				if _, err := js.PublishMsg(ctx, tt.first); err != nil {
					t.Fatal(err)
				}
			}
			wantAck, wantErr := js.PublishMsg(ctx, tt.m())
			gotAck, gotErr := bus.PublishMsg(ctx, nc, tt.m())
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("errors differ: client %v, bus %v", wantErr, gotErr)
			}
			if wantErr != nil {
				var wantAPI, gotAPI *jetstream.APIError
				if errors.As(wantErr, &wantAPI) != errors.As(gotErr, &gotAPI) || wantErr.Error() != gotErr.Error() {
					t.Fatalf("errors differ: client %v, bus %v", wantErr, gotErr)
				}
				if wantAPI != nil && *wantAPI != *gotAPI {
					t.Fatalf("API errors differ: client %+v, bus %+v", *wantAPI, *gotAPI)
				}
				return
			}
			if tt.stored {
				if gotAck.Stream != wantAck.Stream || gotAck.Sequence != wantAck.Sequence+1 || gotAck.Duplicate {
					t.Fatalf("acks: client %+v, bus %+v", *wantAck, *gotAck)
				}
				return
			}
			if !reflect.DeepEqual(wantAck, gotAck) {
				t.Fatalf("acks differ: client %+v, bus %+v", *wantAck, *gotAck)
			}
		})
	}
}
