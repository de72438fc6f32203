package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/agent"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
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
		CLI:        run,
		ReadConfig: agentConfig,
		Console:    g.stdout,
		Input:      agent.ReaderInput(g.stdin),
		Boot:       opts.Boot,
		Version:    currentVersion().Version,
	}
	if opts.Boot {
		o.Input = agent.ConsoleInput(g.SysRoot)
	}
	return agentError(agent.Run(ctx, o))
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
	}, nil
}

// agentError turns the agent's exit code (decom wipe's, or agent.ExitFatal) back into
// the error exitCode maps to it.
func agentError(code int) error {
	var err error
	switch code {
	case exitOK:
		return nil
	case exitUsage:
		err = usageError{fmt.Errorf("decom wipe refused its command line")}
	case exitRefused:
		err = wipe.ErrRefused
	case exitWipeFailed:
		err = sanitize.ErrWipeFailed
	case exitVerifyFailed:
		err = sanitize.ErrVerifyFailed
	case exitExceptions:
		err = sanitize.ErrExceptions
	case exitBadInput:
		err = badInputf("decom wipe could not use an input file or key")
	case exitUnreachable:
		err = registry.ErrUnreachable
	case exitInterrupted:
		err = context.Canceled
	default:
		err = fmt.Errorf("exit code %d", code)
	}
	return fmt.Errorf("agent: %w (see the summary above)", err)
}
