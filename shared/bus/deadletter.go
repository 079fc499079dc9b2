package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// permanentError marks an error that no retry can fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err so the message is dead-lettered without redelivery
// (a body that does not decode, a command that can never succeed).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// deadLetter moves a message to INTHUB_DLQ, with the reason and its original
// headers, when its handler fails permanently or on its last allowed
// delivery; then acks it. Any other failure nacks it for a delayed redelivery.
// If the DLQ publish itself fails, the message is nacked: it is never dropped.
func (r *Router) deadLetter(route Route) message.HandlerMiddleware {
	maxDeliver := uint64(r.bus.cfg.MaxDeliver)
	pub := watermillPublisher{js: r.bus.js, bound: r.bus.cfg.publishBound()}
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(wm *message.Message) ([]*message.Message, error) {
			delivered, _ := strconv.ParseUint(wm.Metadata.Get(metaDelivered), 10, 64)
			var err error
			if delivered > maxDeliver {
				// Only a worker that died during the last delivery gets here.
				err = fmt.Errorf("delivery limit of %d exceeded", maxDeliver)
			} else {
				var out []*message.Message
				out, err = h(wm)
				if err == nil {
					return out, nil
				}
				if !IsPermanent(err) && delivered < maxDeliver {
					r.logger.Warn("handler failed; message will be redelivered",
						"handler", route.Name, "subject", wm.Metadata.Get(metaSubject),
						"delivery", delivered, "max_deliver", maxDeliver, "error", err.Error())
					return nil, err
				}
			}
			dl := wm.Copy()
			// The handler's context may be cancelled by now (timeout); the
			// dead letter still has to be written, under its own deadline.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(wm.Context()), 10*time.Second)
			defer cancel()
			dl.SetContext(ctx)
			dl.Metadata.Set(HeaderDLQReason, err.Error())
			dl.Metadata.Set(HeaderDLQSubject, wm.Metadata.Get(metaSubject))
			dl.Metadata.Set(HeaderDLQStream, wm.Metadata.Get(metaStream))
			dl.Metadata.Set(HeaderDLQHandler, route.Name)
			dl.Metadata.Set(HeaderDLQAttempts, strconv.FormatUint(delivered, 10))
			dl.Metadata.Set(HeaderDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
			if perr := pub.Publish(DLQPrefix, dl); perr != nil {
				r.logger.Error("dead-letter publish failed; message will be redelivered",
					"handler", route.Name, "subject", wm.Metadata.Get(metaSubject), "error", perr.Error())
				return nil, errors.Join(err, perr)
			}
			r.logger.Error("message dead-lettered",
				"handler", route.Name, "subject", wm.Metadata.Get(metaSubject),
				"deliveries", delivered, "reason", err.Error())
			return nil, nil
		}
	}
}
