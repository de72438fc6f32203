package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set by the linker: -X main.version=… -X main.commit=…
var (
	version = "dev"
	commit  = ""
)

type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func currentVersion() versionInfo {
	v := versionInfo{Version: version, Commit: commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if v.Commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					v.Commit = s.Value
				}
			}
		}
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print decom's version, commit and Go version",
		Args:  argsUsage(cobra.NoArgs),
		RunE:  func(*cobra.Command, []string) error { return runVersion(g) },
	}
}

func runVersion(g *globalOptions) error {
	v := currentVersion()
	if g.Output == outputJSON {
		return writeJSON(g.stdout, v)
	}
	_, err := fmt.Fprintf(g.stdout, "decom %s (commit %s, %s, %s)\n", v.Version, v.Commit, v.GoVersion, v.Platform)
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeJSONLine writes v, a struct, as one line of JSON with a leading "type" member.
func writeJSONLine(w io.Writer, typ string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	head, err := json.Marshal(typ)
	if err != nil {
		return err
	}
	line := append([]byte(`{"type":`), head...)
	if len(body) > 2 && body[0] == '{' {
		line = append(append(line, ','), body[1:]...)
	} else {
		line = append(line, '}')
	}
	_, err = w.Write(append(line, '\n'))
	return err
}
