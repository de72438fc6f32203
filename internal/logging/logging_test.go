package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSlogBridgeKeepsLevelAndAttributes(t *testing.T) {
	var buf bytes.Buffer
	zl, err := New(&buf, "info", FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	log := Slog(zl).With("component", "ghw")
	log.Debug("hidden below info")
	log.Warn("disk vanished", "device", "/dev/sdb", "sectors", 2048, "err", errors.New("gone"))

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line (debug filtered out), got %d: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"level": "warn", "message": "disk vanished", "component": "ghw",
		"device": "/dev/sdb", "sectors": float64(2048), "err": "gone"}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v", k, rec[k], v)
		}
	}
}

func TestNewRejectsUnknownSettings(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "loud", FormatJSON); err == nil {
		t.Error("unknown level accepted")
	}
	if _, err := New(&bytes.Buffer{}, "info", "xml"); err == nil {
		t.Error("unknown format accepted")
	}
	var buf bytes.Buffer
	zl, err := New(&buf, "debug", FormatConsole)
	if err != nil {
		t.Fatal(err)
	}
	zl.Info().Str("device", "/dev/loop3").Msg("listed")
	if out := buf.String(); !strings.Contains(out, "listed") || !strings.Contains(out, "device=/dev/loop3") || strings.HasPrefix(out, "{") {
		t.Errorf("console output = %q", out)
	}
}
