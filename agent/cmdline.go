package agent

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Modes of decom.mode.
const (
	ModeAuto        = "auto"
	ModeInteractive = "interactive"
	ModeShell       = "shell"
	ModeStation     = "station" // hot-swap intake station (station.go)
)

// Verification values of decom.verify.
const (
	VerifySample = "sample"
	VerifyFull   = "full"
	VerifyNone   = "none"
)

// Cmdline is what the kernel command line asks of the agent: the decom.* parameters.
// Everything else on the line belongs to the kernel and is ignored.
type Cmdline struct {
	// Mode is decom.mode: auto (the default), interactive, station or shell.
	Mode string
	// Method and Verify are decom.method and decom.verify; empty leaves the config
	// file's choice (and decom wipe's default).
	Method string
	Verify string
	// PowerOff is decom.poweroff: whether auto mode, and station mode ended by
	// station: max, power the machine off at their end (the default) or halt and wait.
	PowerOff bool
	// Registry is decom.registry, a URL that overrides the config file's registry
	// when the config file allows it (see Config.CmdlineRegistries): the registry
	// receives the config's token.
	Registry string
	// Debug is decom.debug: more detail on the console and in the log.
	Debug bool
	// Settle is decom.settle, in seconds: how long no new disk may appear before
	// the disks count as settled; zero means the agent's default.
	Settle int
	// Plan is decom.plan, the approved plan auto mode follows (see approved.go):
	// an absolute path in the initramfs, or below /data on the data partition. It
	// stands over the config file's boot: plan.
	Plan string
	// ConfigURL is decom.config, the http:// or https:// URL of the config file of
	// a network boot (no stick); ConfigSHA256 is decom.config.sha256, the SHA-256
	// (lower-case hex) the fetched bytes must have. One without the other, or
	// either malformed, is an error: nothing is wiped, and decom's defaults are
	// never used in the config's place.
	ConfigURL    string
	ConfigSHA256 string
	// Plain is decom.plain: the console shows lines and asks line by line, never
	// the full screen.
	Plain bool

	// Warnings are the decom.* parameters not understood, or whose value was
	// replaced by a default; the agent reports them and goes on.
	Warnings []string
	// Errors are values the agent must not guess at, since they decide what is
	// done to drives (decom.method, decom.verify), and values the config file does
	// not allow (decom.verify=none): auto and interactive mode wipe nothing when
	// there are any.
	Errors []string
}

// ParseCmdline reads the decom.* parameters of a kernel command line (the content of
// /proc/cmdline). It never fails: a parameter it does not understand becomes a
// warning, a value it must not guess at an error, and the rest keeps its default.
// Parameters are split at spaces outside double quotes, as the kernel splits them; a
// parameter given twice counts with its last value.
func ParseCmdline(line string) Cmdline {
	c := Cmdline{Mode: ModeAuto, PowerOff: true}
	for _, param := range splitCmdline(line) {
		key, value, hasValue := strings.Cut(param, "=")
		name, ok := strings.CutPrefix(key, "decom.")
		if !ok {
			continue
		}
		switch name {
		case "mode":
			switch value {
			case ModeAuto, ModeInteractive, ModeShell, ModeStation:
				c.Mode = value
			default:
				// Never guess "auto" for a word nobody meant: ask instead.
				c.Mode = ModeInteractive
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: want auto, interactive or shell (or station); asking at the console instead", param))
			}
		case "method":
			if validMethodName(value) {
				c.Method = value
			} else {
				c.Errors = append(c.Errors, fmt.Sprintf("%s: not a method name (see decom methods)", param))
			}
		case "verify":
			switch value {
			case VerifySample, VerifyFull, VerifyNone:
				c.Verify = value
			default:
				c.Errors = append(c.Errors, fmt.Sprintf("%s: want sample, full or none", param))
			}
		case "poweroff":
			b, err := parseFlag(value, hasValue)
			if err != nil {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: want 0 or 1; powering off as by default", param))
				b = true
			}
			c.PowerOff = b
		case "registry":
			u, err := url.Parse(value)
			if value == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: want an http:// or https:// URL; ignored", param))
				continue
			}
			c.Registry = value
		case "debug":
			b, err := parseFlag(value, hasValue)
			if err != nil {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: want 0 or 1; ignored", param))
				continue
			}
			c.Debug = b
		case "plain":
			b, err := parseFlag(value, hasValue)
			if err != nil {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: want 0 or 1; ignored", param))
				continue
			}
			c.Plain = b
		case "countdown":
			// Auto mode's countdown is the config file's to set, 0 included: a
			// word at the boot menu must not take away the time to stop a wipe.
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: the countdown is set in config.yaml (boot: countdown:), not on the kernel command line; ignored", param))
		case "config":
			u, err := url.Parse(value)
			if value == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				c.Errors = append(c.Errors, fmt.Sprintf("%s: want the config file's http:// or https:// URL", param))
				c.ConfigURL = ""
				continue
			}
			c.ConfigURL = value
		case "config.sha256":
			if !isSHA256Hex(value) {
				c.Errors = append(c.Errors, fmt.Sprintf("%s: want the config file's SHA-256, 64 hex digits", param))
				c.ConfigSHA256 = ""
				continue
			}
			c.ConfigSHA256 = strings.ToLower(value)
		case "settle":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > 600 {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: want a number of seconds from 1 to 600; ignored", param))
				continue
			}
			c.Settle = n
		case "plan":
			// The plan decides what is wiped: a path that cannot be one is an
			// error, never a reason to wipe without it.
			if !validPlanPath(value) {
				c.Errors = append(c.Errors, fmt.Sprintf("%s: want the absolute path of an approved plan file", param))
				continue
			}
			c.Plan = value
		default:
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: unknown parameter; ignored", param))
		}
	}
	switch {
	case c.ConfigURL != "" && c.ConfigSHA256 == "" && !hasParam(c.Errors, "decom.config.sha256="):
		c.Errors = append(c.Errors, fmt.Sprintf("decom.config=%s: no decom.config.sha256=: the config is only used when its SHA-256 is on the same line", c.ConfigURL))
	case c.ConfigURL == "" && c.ConfigSHA256 != "" && !hasParam(c.Errors, "decom.config="):
		c.Warnings = append(c.Warnings, "decom.config.sha256= without decom.config=: ignored")
		c.ConfigSHA256 = ""
	}
	return c
}

// hasParam reports whether one of msgs is about the parameter prefix (name=).
func hasParam(msgs []string, prefix string) bool {
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// isSHA256Hex reports whether s is a SHA-256 in hex (either case).
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// splitCmdline splits a kernel command line the way the kernel does: at spaces, except
// inside double quotes, which are removed.
func splitCmdline(line string) []string {
	var out []string
	var cur strings.Builder
	quoted, started := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, started = !quoted, true
		case !quoted && (r == ' ' || r == '\t' || r == '\n' || r == '\r'):
			if started {
				out = append(out, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteRune(r)
			started = true
		}
	}
	if started {
		out = append(out, cur.String())
	}
	return out
}

// parseFlag reads a boolean parameter; a bare "decom.debug" means 1.
func parseFlag(value string, hasValue bool) (bool, error) {
	if !hasValue {
		return true, nil
	}
	switch strings.ToLower(value) {
	case "1", "y", "yes", "on", "true":
		return true, nil
	case "0", "n", "no", "off", "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", value)
}

// validMethodName accepts what can be a method name of decom methods (dod-3,
// nist-clear, …); whether the method exists is decom wipe's to say, before it writes.
func validMethodName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
