package agent

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	def := Cmdline{Mode: ModeAuto, PowerOff: true}
	with := func(f func(*Cmdline)) Cmdline {
		c := def
		f(&c)
		return c
	}
	for _, tc := range []struct {
		line string
		want Cmdline
		// warn and errs are substrings of the warnings and errors, in order.
		warn, errs []string
	}{
		{line: "", want: def},
		{line: "BOOT_IMAGE=/vmlinuz console=tty0 console=ttyS0,115200 quiet\n", want: def},
		{line: "console=tty0 console=ttyS0,115200 decom.mode=auto quiet", want: def},
		{line: "decom.mode=interactive", want: with(func(c *Cmdline) { c.Mode = ModeInteractive })},
		{line: "decom.mode=shell", want: with(func(c *Cmdline) { c.Mode = ModeShell })},
		{line: "decom.mode=interacive", want: with(func(c *Cmdline) { c.Mode = ModeInteractive }),
			warn: []string{"decom.mode=interacive: want auto, interactive or shell"}},
		{line: "decom.mode", want: with(func(c *Cmdline) { c.Mode = ModeInteractive }), warn: []string{"decom.mode:"}},
		{line: "decom.method=dod-3 decom.verify=full", want: with(func(c *Cmdline) { c.Method, c.Verify = "dod-3", VerifyFull })},
		{line: "decom.verify=none", want: with(func(c *Cmdline) { c.Verify = VerifyNone })},
		{line: "decom.method=DoD 3", want: def, errs: []string{"decom.method=DoD: not a method name"}},
		{line: "decom.method=", want: def, errs: []string{"decom.method=: not a method name"}},
		{line: "decom.verify=yes", want: def, errs: []string{"decom.verify=yes: want sample, full or none"}},
		{line: "decom.poweroff=0", want: with(func(c *Cmdline) { c.PowerOff = false })},
		{line: "decom.poweroff=0 decom.poweroff=1", want: def},
		{line: "decom.poweroff=no", want: with(func(c *Cmdline) { c.PowerOff = false })},
		{line: "decom.poweroff=maybe", want: def, warn: []string{"decom.poweroff=maybe: want 0 or 1"}},
		{line: "decom.registry=http://10.0.2.2:8080", want: with(func(c *Cmdline) { c.Registry = "http://10.0.2.2:8080" })},
		{line: "decom.registry=ftp://x", want: def, warn: []string{"want an http:// or https:// URL"}},
		{line: "decom.registry=https://", want: def, warn: []string{"want an http:// or https:// URL"}},
		{line: "decom.debug=1", want: with(func(c *Cmdline) { c.Debug = true })},
		{line: "decom.debug", want: with(func(c *Cmdline) { c.Debug = true })},
		{line: "decom.debug=2", want: def, warn: []string{"decom.debug=2: want 0 or 1"}},
		{line: "decom.settle=10", want: with(func(c *Cmdline) { c.Settle = 10 })},
		{line: "decom.settle=0 decom.settle=x", want: def, warn: []string{"decom.settle=0", "decom.settle=x"}},
		{line: "decom.plan=/etc/decom/plan.json", want: with(func(c *Cmdline) { c.Plan = "/etc/decom/plan.json" })},
		{line: "decom.plan=/data/plans/rack4.json", want: with(func(c *Cmdline) { c.Plan = "/data/plans/rack4.json" })},
		{line: "decom.plan=plan.json", want: def, errs: []string{"decom.plan=plan.json: want the absolute path of an approved plan file"}},
		{line: "decom.plan=/data/../etc/x", want: def, errs: []string{"decom.plan=/data/../etc/x: want the absolute path"}},
		{line: "decom.plan=", want: def, errs: []string{"decom.plan=: want the absolute path"}},
		{line: "decom.colour=red decom.mode=shell", want: with(func(c *Cmdline) { c.Mode = ModeShell }),
			warn: []string{"decom.colour=red: unknown parameter"}},
		{line: `decom.method="dod-7" "decom.verify=sample"`, want: with(func(c *Cmdline) { c.Method, c.Verify = "dod-7", VerifySample })},
		{line: `x="a b decom.mode=shell" decom.mode=interactive`, want: with(func(c *Cmdline) { c.Mode = ModeInteractive })},
		{line: "\tdecom.mode=shell\n", want: with(func(c *Cmdline) { c.Mode = ModeShell })},
		{line: "mydecom.mode=shell decom=1", want: def},
		{line: "decom.config=https://boot.example/decom/config.yaml decom.config.sha256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
			want: with(func(c *Cmdline) {
				c.ConfigURL, c.ConfigSHA256 = "https://boot.example/decom/config.yaml", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			})},
		{line: "decom.config=http://10.0.2.2:8080/c.yaml",
			want: with(func(c *Cmdline) { c.ConfigURL = "http://10.0.2.2:8080/c.yaml" }),
			errs: []string{"decom.config=http://10.0.2.2:8080/c.yaml: no decom.config.sha256=: the config is only used when its SHA-256 is on the same line"}},
		{line: "decom.config=http://h/c.yaml decom.config.sha256=abc",
			want: with(func(c *Cmdline) { c.ConfigURL = "http://h/c.yaml" }),
			errs: []string{"decom.config.sha256=abc: want the config file's SHA-256, 64 hex digits"}},
		{line: "decom.config=http://h/c.yaml decom.config.sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
			want: with(func(c *Cmdline) { c.ConfigURL = "http://h/c.yaml" }),
			errs: []string{"decom.config.sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg: want the config file's SHA-256"}},
		{line: "decom.config=/data/config.yaml decom.config.sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			want: with(func(c *Cmdline) { c.ConfigSHA256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }),
			errs: []string{"decom.config=/data/config.yaml: want the config file's http:// or https:// URL"}},
		{line: "decom.config= decom.config.sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			want: with(func(c *Cmdline) { c.ConfigSHA256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }),
			errs: []string{"decom.config=: want the config file's http:// or https:// URL"}},
		{line: "decom.config.sha256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", want: def, warn: []string{"decom.config.sha256= without decom.config=: ignored"}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			got := ParseCmdline(tc.line)
			checkMessages(t, "warnings", got.Warnings, tc.warn)
			checkMessages(t, "errors", got.Errors, tc.errs)
			got.Warnings, got.Errors = nil, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseCmdline(%q) = %+v, want %+v", tc.line, got, tc.want)
			}
		})
	}
}

func checkMessages(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %q, want %d like %q", what, got, len(want), want)
		return
	}
	for i := range got {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("%s[%d] = %q, want it to contain %q", what, i, got[i], want[i])
		}
	}
}

func TestSplitCmdline(t *testing.T) {
	for line, want := range map[string][]string{
		"":                           nil,
		"  a  b ":                    {"a", "b"},
		`a="b c" d`:                  {"a=b c", "d"},
		`"a b"`:                      {"a b"},
		`""`:                         {""},
		`a="unterminated quote rest`: {"a=unterminated quote rest"},
	} {
		if got := splitCmdline(line); !reflect.DeepEqual(got, want) {
			t.Errorf("splitCmdline(%q) = %q, want %q", line, got, want)
		}
	}
}

// FuzzParseCmdline checks that any line parses to a usable Cmdline: a valid mode and
// verification, a method that is a name, a registry that is an http(s) URL.
func FuzzParseCmdline(f *testing.F) {
	for _, s := range []string{
		"console=tty0 console=ttyS0,115200 decom.mode=auto quiet",
		`decom.method="dod-3" decom.verify=full decom.poweroff=0 decom.registry=http://10.0.2.2:8443`,
		"decom.mode=bogus decom.debug decom.unknown=1 decom.settle=5",
		"decom.plan=/etc/decom/plan.json decom.plan=x",
		"\"decom.mode=shell",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c := ParseCmdline(line)
		switch c.Mode {
		case ModeAuto, ModeInteractive, ModeShell:
		default:
			t.Fatalf("mode %q", c.Mode)
		}
		switch c.Verify {
		case "", VerifySample, VerifyFull, VerifyNone:
		default:
			t.Fatalf("verify %q", c.Verify)
		}
		if c.Method != "" && !validMethodName(c.Method) {
			t.Fatalf("method %q", c.Method)
		}
		if r := strings.ToLower(c.Registry); r != "" && !strings.HasPrefix(r, "http://") && !strings.HasPrefix(r, "https://") {
			t.Fatalf("registry %q", c.Registry)
		}
		if c.Settle < 0 || c.Settle > 600 {
			t.Fatalf("settle %d", c.Settle)
		}
		if c.Plan != "" && !validPlanPath(c.Plan) {
			t.Fatalf("plan %q", c.Plan)
		}
		ours := false
		for _, p := range splitCmdline(line) {
			ours = ours || strings.HasPrefix(p, "decom.")
		}
		if !ours && (len(c.Warnings) > 0 || len(c.Errors) > 0) {
			t.Fatalf("messages for a line without decom.*: %q %q", c.Warnings, c.Errors)
		}
	})
}
