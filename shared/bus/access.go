package bus

import (
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Access is what one service does on the bus, as its code declares it: its
// route table and the KV buckets it opens. Its NATS identity's permissions
// are derived from it (Permissions), so what a service may do is what its
// declarations say, kept in one place: a route added to the table is a
// subject granted, and traffic the table does not declare is refused by
// the server.
type Access struct {
	// Service is the service's name: its NATS user and connection name.
	Service string
	Routes  []Route
	// Buckets are the KV buckets the service creates or opens.
	Buckets []string
	// ReadBuckets are buckets the service ensures and reads (a watch, gets)
	// but never writes: the ingress's read model of the catalog.
	ReadBuckets []string
}

// Permissions are one NATS user's publish and subscribe allow lists.
// Replies to the requests a service serves are allowed by the server's
// allow_responses (one reply per request), so an endpoint needs no right
// on its callers' inboxes.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// InboxPrefix is the prefix of the reply inboxes of the connection called
// name: _INBOX.<name>, so each identity subscribes to its own replies only.
// A name that is not one subject token keeps the client's default prefix.
func InboxPrefix(name string) string {
	if !validToken(name) {
		return "_INBOX"
	}
	return "_INBOX." + name
}

func validToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}

// The JetStream API and acknowledgement subjects.
const (
	jsAPI = "$JS.API."
	jsAck = "$JS.ACK."
	jsFC  = "$JS.FC."
)

// BucketNames are the names of buckets, for Access.Buckets.
func BucketNames(buckets []jetstream.KeyValueConfig) []string {
	out := make([]string, len(buckets))
	for i, b := range buckets {
		out[i] = b.Bucket
	}
	return out
}

// KVStream is the stream of the KV bucket called bucket.
func KVStream(bucket string) string { return "KV_" + bucket }

// Permissions derives the service's publish and subscribe rights from its
// declarations:
//
//   - the hub's streams: their info, creation and update (every service
//     ensures them at start, so start order does not matter);
//   - each bucket: its stream's creation, update and reads, and its keys
//     ($KV.<bucket>.>); each read bucket the same without the keys;
//   - each stream route: its durable consumer (info, create, next, acks)
//     and the dead letters of its subject (inthub.dlq.<subject>);
//   - what routes produce and call, and what they await (subscribe);
//   - the endpoints a service serves (subscribe) and the nats micro
//     discovery subjects ($SRV.>) when it serves any;
//   - Reads and Manages of a route: the reads of a stream, and the removal
//     of its messages (with, for INTHUB_DLQ, the redrive's subjects);
//   - the service's own reply inboxes (InboxPrefix).
//
// The lists are sorted and without duplicates.
func (a Access) Permissions() Permissions {
	var pub, sub []string
	hub := StreamConfigs(DefaultConfig())
	for _, sc := range hub {
		pub = append(pub, streamAdmin(sc.Name)...)
	}
	if len(a.Buckets)+len(a.ReadBuckets) > 0 {
		// Creating a bucket first reads the account's JetStream info.
		pub = append(pub, jsAPI+"INFO")
	}
	for _, b := range a.ReadBuckets {
		st := KVStream(b)
		pub = append(pub, streamAdmin(st)...)
		pub = append(pub, streamReads(st)...)
	}
	for _, b := range a.Buckets {
		st := KVStream(b)
		pub = append(pub, streamAdmin(st)...)
		pub = append(pub, streamReads(st)...)
		pub = append(pub, "$KV."+b+".>")
	}
	serves := false
	for _, r := range a.Routes {
		pub = append(pub, r.Produces...)
		pub = append(pub, r.Calls...)
		sub = append(sub, r.Awaits...)
		switch {
		case r.Consumes():
			pub = append(pub,
				jsAPI+"CONSUMER.INFO."+r.Stream+"."+r.Durable,
				jsAPI+"CONSUMER.CREATE."+r.Stream+"."+r.Durable,
				jsAPI+"CONSUMER.CREATE."+r.Stream+"."+r.Durable+".>",
				jsAPI+"CONSUMER.MSG.NEXT."+r.Stream+"."+r.Durable,
				jsAck+r.Stream+"."+r.Durable+".>",
				DLQPrefix+"."+r.Subject,
			)
		case r.Subject != "":
			sub = append(sub, r.Subject)
			serves = true
		}
		for _, st := range r.Reads {
			pub = append(pub, streamReads(st)...)
		}
		for _, st := range r.Manages {
			pub = append(pub, streamReads(st)...)
			pub = append(pub, jsAPI+"STREAM.MSG.DELETE."+st, jsAPI+"STREAM.PURGE."+st)
			if st == StreamDLQ {
				// A redrive puts a dead letter back on the subject it was
				// consumed from: any subject of the streams that
				// dead-letter.
				for _, sc := range hub {
					if sc.Name != StreamDLQ {
						pub = append(pub, sc.Subjects...)
					}
				}
			}
		}
	}
	if serves {
		sub = append(sub, "$SRV.>")
	}
	sub = append(sub, InboxPrefix(a.Service)+".>")
	return Permissions{Publish: sortedSet(pub), Subscribe: sortedSet(sub)}
}

// streamAdmin is what ensuring the stream takes.
func streamAdmin(stream string) []string {
	return []string{
		jsAPI + "STREAM.INFO." + stream,
		jsAPI + "STREAM.CREATE." + stream,
		jsAPI + "STREAM.UPDATE." + stream,
	}
}

// streamReads is what reading a stream takes: its info, message gets
// (direct or not) and consumers of the reader's own, ordered ones included
// (created, asked for messages, acked, flow-controlled and deleted).
func streamReads(stream string) []string {
	return []string{
		jsAPI + "STREAM.INFO." + stream,
		jsAPI + "STREAM.MSG.GET." + stream,
		jsAPI + "DIRECT.GET." + stream,
		jsAPI + "DIRECT.GET." + stream + ".>",
		jsAPI + "CONSUMER.CREATE." + stream,
		jsAPI + "CONSUMER.CREATE." + stream + ".>",
		jsAPI + "CONSUMER.INFO." + stream + ".>",
		jsAPI + "CONSUMER.DELETE." + stream + ".>",
		jsAPI + "CONSUMER.MSG.NEXT." + stream + ".>",
		jsAck + stream + ".>",
		jsFC + stream + ".>",
	}
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
