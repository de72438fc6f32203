package images

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

func TestFullDecomInfo(t *testing.T) {
	const path = "path\t" + decomMain + "\nmod\tgithub.com/decom-project/decom\t(devel)\t\n"
	for info, want := range map[string]bool{
		path + "build\t-trimpath=true\n":                                   true,
		path + "build\t-tags=agentimage\nbuild\t-trimpath=true\n":          false,
		path + "build\t-tags=netgo,agentimage\n":                           false,
		path + "build\t-tags=agentimage,osusergo\n":                        false,
		path + "build\t-tags=agentimagex\n":                                true,
		path + "build\t-tags=notagentimage,netgo\n":                        true,
		"path\tgithub.com/decom-project/decom/images/internal/smokeinit\n": false,
		"": false,
	} {
		if got := fullDecomInfo([]byte(info)); got != want {
			t.Errorf("fullDecomInfo(%q) = %v", info, got)
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
	if bi.Path != decomMain || !slices.Contains(bi.Settings, debug.BuildSetting{Key: "-tags", Value: AgentTags}) {
		t.Errorf("built %s with %v", bi.Path, bi.Settings)
	}
	if fullDecom(out) {
		t.Errorf("fullDecom(%s) = true: the build information was read as %v", out, bi.Settings)
	}
	if !strings.Contains(log.String(), "building decom (tags agentimage) from ") {
		t.Errorf("log: %q", log.String())
	}
}
