package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/agent"
	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/sanitize"
)

// agentArgs start the boot image's agent: what PID 1 runs in a process of its own.
var agentArgs = []string{"agent", "--boot"}

// isBootInit reports whether this process is the boot image's init: PID 1, or run as
// /init, from an initramfs. A decom that is PID 1 of a container is not: its root is
// no initramfs.
func isBootInit() bool {
	return (os.Getpid() == 1 || os.Args[0] == "/init") && agent.InInitramfs()
}

// bootInit is main for the boot image's PID 1. It never returns.
func bootInit() {
	agent.Init(agent.InitOptions{
		AgentArgs: agentArgs,
		InProcess: func() { run(context.Background(), agentArgs, os.Stdin, os.Stdout, os.Stderr) },
	})
}

type agentOptions struct {
	Boot    bool
	Cmdline string
}

func (o *agentOptions) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.Boot, "boot", false, "be the boot image's agent: read /proc/cmdline, ask at every console, power off or halt at the end")
	f.StringVar(&o.Cmdline, "cmdline", "", "kernel command line to obey instead of /proc/cmdline (decom.mode=…, decom.method=…)")
}

func newAgentCommand(g *globalOptions) *cobra.Command {
	var opts agentOptions
	cmd := &cobra.Command{
		Use:    "agent",
		Short:  "Run the boot image's agent",
		Hidden: true,
		Long: `Runs the agent of decom's boot image: loads the kernel modules for the hardware, waits
for the disks, mounts the DECOM-DATA partition, reads its config.yaml, brings up the
network when a registry is configured, and wipes (decom.mode=auto), asks which drives
to wipe (decom.mode=interactive) or explains (decom.mode=shell), as the kernel command
line says. PID 1 of the boot image starts it with --boot; tests run it in a virtual
machine with --cmdline. It runs only from an initramfs, never on an installed system.

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runAgent(cmd.Context(), opts, g) },
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runAgent(ctx context.Context, opts agentOptions, g *globalOptions) error {
	if !agent.InInitramfs() {
		return usageErrorf("decom agent runs only in decom's boot image (or a test virtual machine): the root filesystem is not an initramfs")
	}
	if !opts.Boot && opts.Cmdline == "" {
		return usageErrorf("decom agent without --boot needs --cmdline (for example --cmdline decom.mode=auto)")
	}
	o := agent.Options{
		Root:       g.SysRoot,
		Cmdline:    opts.Cmdline,
		System:     agent.Linux{},
		Prepare:    agentPrepare(g),
		ReadConfig: agentConfig,
		Console:    g.stdout,
		Boot:       opts.Boot,
		Version:    currentVersion().Version,
	}
	// One reader of the console only: a ReaderInput of stdin (the console in the
	// boot image) would take keys the consoles' reader waits for.
	if opts.Boot {
		o.Input = agent.ConsoleInput(g.SysRoot)
	} else {
		o.Input = agent.ReaderInput(g.stdin)
	}
	if err := agent.Run(ctx, o); err != nil {
		return fmt.Errorf("agent: %w (see the summary above)", err)
	}
	return nil
}

// agentPrepare turns the agent's request into a run's options exactly as decom wipe
// would: the wipe command's own defaults, the config file and the environment, with
// the request's choices standing where a person's flags would.
func agentPrepare(g *globalOptions) func(ctx context.Context, r agent.WipeRequest) (sanitize.Options, error) {
	return func(ctx context.Context, r agent.WipeRequest) (sanitize.Options, error) {
		cfg, err := loadConfig(r.ConfigPath)
		if err != nil {
			return sanitize.Options{}, err
		}
		var opts wipeOptions
		flags := pflag.NewFlagSet("wipe", pflag.ContinueOnError)
		opts.AddFlags(flags)
		set := map[string]string{"method": r.Method, "verify": r.Verify, "cert-dir": r.CertDir, "key": r.Key}
		if r.PDF {
			set["pdf"] = "true"
		}
		for name, v := range set {
			if v == "" {
				continue
			}
			if err := flags.Set(name, v); err != nil {
				return sanitize.Options{}, usageErrorf("%s %q: %v", name, v, err)
			}
		}
		// Set even when empty: no registry, whatever the config file says (the
		// agent has no network, or refused the registry).
		if err := flags.Set("registry", r.Registry); err != nil {
			return sanitize.Options{}, err
		}
		opts.apply(flags, cfg)
		level := "info"
		if r.Debug {
			level = "debug"
		}
		log, err := logging.New(r.Log, level, logging.FormatConsole)
		if err != nil {
			return sanitize.Options{}, err
		}
		// No terminal to ask at: the agent found the passphrase, or the environment
		// gives it.
		ag := &globalOptions{SysRoot: g.SysRoot, Output: outputJSON, stdin: strings.NewReader(""), stdout: io.Discard,
			stderr: r.Log, log: log}
		so, err := opts.prepare(ctx, ag, func() ([]byte, error) {
			if r.Passphrase != nil {
				return slices.Clone(r.Passphrase), nil
			}
			return ag.passphrase("Passphrase for "+opts.cert.Key, false)
		})
		if err != nil {
			return sanitize.Options{}, err
		}
		// The journals go where the agent says: on the data partition, or nowhere
		// (never in RAM, where a power loss takes them with the wipe).
		so.JournalDir = r.JournalDir
		if c := so.Certify; c != nil && c.Registry != nil && r.RegistryCA != "" {
			if c.Registry.HTTP, err = httpClientTrusting(r.RegistryCA); err != nil {
				return sanitize.Options{}, err
			}
		}
		return so, nil
	}
}

// httpClientTrusting is an HTTP client that trusts only the certificate authorities
// of a PEM file: the boot image has no system store of its own.
func httpClientTrusting(caFile string) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, badInputf("registry CA certificates: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, badInputf("registry CA certificates: %s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// agentConfig reads the config file for the agent with decom's own loader and rules.
func agentConfig(path string) (agent.Config, error) {
	c, err := loadConfig(path)
	if err != nil {
		return agent.Config{}, err
	}
	env := func(name, file string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return file
	}
	return agent.Config{
		Method:   env("DECOM_METHOD", c.Method),
		Verify:   env("DECOM_VERIFY", c.Verify),
		Key:      env("DECOM_KEY", c.Key),
		Registry: env("DECOM_REGISTRY", c.Registry),
		HasToken: env("DECOM_REGISTRY_TOKEN", c.RegistryToken) != "",
		PDF:      c.PDF,
		Operator: env("DECOM_OPERATOR_NAME", c.Operator.Name),

		Countdown:         c.Boot.Countdown,
		Machines:          c.Boot.Machines,
		CmdlineRegistries: c.Boot.CmdlineRegistries,
		AllowInsecureHTTP: c.Boot.AllowInsecureHTTP,
		AllowUnverified:   c.Boot.AllowUnverified,
		Plan:              c.Boot.Plan,
		Station:           agent.StationConfig{Auto: c.Station.Auto, IncludePresent: c.Station.IncludePresent, Max: c.Station.Max},
		KeySHA256:         c.Boot.KeySHA256,
	}, nil
}
