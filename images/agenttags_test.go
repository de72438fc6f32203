package images

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

func TestAgentBuild(t *testing.T) {
	for tags, want := range map[string]bool{
		"":                      false,
		"agentimage":            true,
		"netgo,agentimage":      true,
		"agentimage,osusergo":   true,
		"agentimagex":           false,
		"notagentimage,netgo":   false,
		"agentimage_full,other": false,
	} {
		bi := &debug.BuildInfo{Path: decomMain, Settings: []debug.BuildSetting{{Key: "-trimpath", Value: "true"}}}
		if tags != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "-tags", Value: tags})
		}
		if got := agentBuild(bi); got != want {
			t.Errorf("agentBuild(-tags=%s) = %v", tags, got)
		}
	}
}

// The Makefile's bin/decom-agent is built with the same tags as Build's own decom.
func TestMakefileAgentTags(t *testing.T) {
	b, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^AGENT_TAGS := (.*)$`).FindSubmatch(b)
	if m == nil || string(m[1]) != AgentTags {
		t.Errorf("the Makefile's AGENT_TAGS: %q, want %q", m, AgentTags)
	}
}

// goBuild, Build's way to make decom when no binary is given, builds the boot image's
// decom: with AgentTags, stripped.
func TestGoBuildAgentTags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "decom")
	var log strings.Builder
	logf := func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) }
	if err := goBuild(context.Background(), "", out, logf); err != nil {
		t.Fatal(err)
	}
	if err := staticBinary(out); err != nil {
		t.Error(err)
	}
	bi, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Path != decomMain || !agentBuild(bi) {
		t.Errorf("built %s with %v", bi.Path, bi.Settings)
	}
	if !strings.Contains(log.String(), "building decom (tags agentimage) from ") {
		t.Errorf("log: %q", log.String())
	}
}
