package bus

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// wmLogger is Watermill's slog adapter that asks the logger first whether a
// level is enabled. Watermill's router logs two trace lines per message
// ("Received message", "Message acked"); the plain adapter turns their
// fields into slog attributes before slog drops them, on every message.
type wmLogger struct {
	logger *slog.Logger
	next   watermill.LoggerAdapter
}

// newWatermillLogger logs Watermill's info as debug (its router is chatty
// at start and stop) and its trace below debug.
func newWatermillLogger(logger *slog.Logger) watermill.LoggerAdapter {
	return wmLogger{logger: logger, next: watermill.NewSlogLoggerWithLevelMapping(logger,
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})}
}

func (l wmLogger) enabled(level slog.Level) bool {
	return l.logger.Enabled(context.Background(), level)
}

func (l wmLogger) Error(msg string, err error, fields watermill.LogFields) {
	l.next.Error(msg, err, fields)
}

func (l wmLogger) Info(msg string, fields watermill.LogFields) {
	if l.enabled(slog.LevelDebug) {
		l.next.Info(msg, fields)
	}
}

func (l wmLogger) Debug(msg string, fields watermill.LogFields) {
	if l.enabled(slog.LevelDebug) {
		l.next.Debug(msg, fields)
	}
}

func (l wmLogger) Trace(msg string, fields watermill.LogFields) {
	if l.enabled(watermill.LevelTrace) {
		l.next.Trace(msg, fields)
	}
}

func (l wmLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return wmLogger{logger: l.logger.With(slogArgs(fields)...), next: l.next.With(fields)}
}

func slogArgs(fields watermill.LogFields) []any {
	out := make([]any, 0, 2*len(fields))
	for k, v := range fields {
		out = append(out, k, v)
	}
	return out
}
