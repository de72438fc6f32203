// Package logging builds decom's zerolog logger from the command-line settings and
// bridges other libraries' loggers (log/slog, used by ghw) into it, so one process writes
// one log stream in one format.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Formats accepted by New.
const (
	FormatConsole = "console"
	FormatJSON    = "json"
)

// New returns a logger writing to w at the named level ("debug", "info", "warn",
// "error") in the named format: "console" for people, "json" for machines.
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Logger{}, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", level)
	}
	switch format {
	case FormatJSON:
	case FormatConsole:
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !IsTerminal(w)}
	default:
		return zerolog.Logger{}, fmt.Errorf("unknown log format %q (want console or json)", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// IsTerminal reports whether f, a reader or writer, is a terminal.
func IsTerminal(f any) bool {
	fd, ok := f.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	return isatty.IsTerminal(fd.Fd())
}

// Slog returns a log/slog logger whose records go to l, levels and attributes kept.
func Slog(l zerolog.Logger) *slog.Logger {
	return slog.New(&handler{log: l})
}

type handler struct {
	log    zerolog.Logger
	attrs  []slog.Attr
	groups string
}

func (h *handler) Enabled(_ context.Context, lvl slog.Level) bool {
	return h.log.GetLevel() <= zerologLevel(lvl)
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	ev := h.log.WithLevel(zerologLevel(r.Level))
	for _, a := range h.attrs {
		ev = addAttr(ev, h.groups, a)
	}
	r.Attrs(func(a slog.Attr) bool {
		ev = addAttr(ev, h.groups, a)
		return true
	})
	ev.Msg(r.Message)
	return nil
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	n := *h
	n.groups += name + "."
	return &n
}

func addAttr(ev *zerolog.Event, prefix string, a slog.Attr) *zerolog.Event {
	v := a.Value.Resolve()
	key := prefix + a.Key
	switch v.Kind() {
	case slog.KindGroup:
		for _, ga := range v.Group() {
			ev = addAttr(ev, key+".", ga)
		}
		return ev
	case slog.KindString:
		return ev.Str(key, v.String())
	case slog.KindInt64:
		return ev.Int64(key, v.Int64())
	case slog.KindUint64:
		return ev.Uint64(key, v.Uint64())
	case slog.KindBool:
		return ev.Bool(key, v.Bool())
	case slog.KindDuration:
		return ev.Dur(key, v.Duration())
	case slog.KindFloat64:
		return ev.Float64(key, v.Float64())
	case slog.KindTime:
		return ev.Time(key, v.Time())
	}
	if err, ok := v.Any().(error); ok {
		return ev.AnErr(key, err)
	}
	return ev.Interface(key, v.Any())
}

func zerologLevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.InfoLevel
	}
	return zerolog.DebugLevel
}
