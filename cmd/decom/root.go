package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/internal/logging"
)

// Output formats of --output.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// globalOptions hold the flags every command shares, and what run sets up from them.
type globalOptions struct {
	LogLevel  string
	LogFormat string
	Output    string
	// SysRoot is where /sys, /proc, /run and /dev are read; tests point it at a fake tree.
	SysRoot string
	// Config is the config file (default: DECOM_CONFIG, else /etc/decom/config.yaml).
	Config string

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    zerolog.Logger
}

func (g *globalOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&g.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&g.LogFormat, "log-format", "", "log format: console or json (default: console when stdout is a terminal, json otherwise)")
	f.StringVarP(&g.Output, "output", "o", outputTable, "output format: table or json")
	f.StringVar(&g.Config, "config", "", "config file (default: $DECOM_CONFIG, else "+defaultConfig+" if it exists)")
	f.StringVar(&g.SysRoot, "sysroot", "/", "read /sys, /proc, /run and /dev below this directory (for tests)")
	_ = f.MarkHidden("sysroot")
}

// interactive reports whether a person is at the terminal: decom may ask questions.
func (g *globalOptions) interactive() bool {
	return logging.IsTerminal(g.stdin) && logging.IsTerminal(g.stderr)
}

// setup validates the shared flags and builds the logger. Logs go to stderr so that
// stdout carries only the command's output.
func (g *globalOptions) setup() error {
	if !slices.Contains([]string{outputTable, outputJSON}, g.Output) {
		return usageErrorf("unknown --output %q (want table or json)", g.Output)
	}
	format := g.LogFormat
	if format == "" {
		format = logging.FormatJSON
		if logging.IsTerminal(g.stdout) {
			format = logging.FormatConsole
		}
	}
	log, err := logging.New(g.stderr, g.LogLevel, format)
	if err != nil {
		return usageError{err}
	}
	g.log = log
	return nil
}

func newRootCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "decom",
		Short: "Inventory, sanitize and certify storage devices",
		Long: `decom inventories the drives of a machine, sanitizes them by overwriting (NIST SP
800-88 Clear, DoD 5220.22-M and the other standard methods) or with the drives' own
sanitize commands (NIST Purge: --method nist-purge), verifies the result, issues signed
certificates of sanitization and collects them in a central registry. decom image build
makes the bootable USB image and ISO that run it on their own.

` + exitCodeHelp,
		Args:              cobra.ArbitraryArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: func(*cobra.Command, []string) error { return g.setup() },
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q (see decom --help)", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.SetIn(g.stdin)
	cmd.SetOut(g.stdout)
	cmd.SetErr(g.stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	g.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(
		newInventoryCommand(g),
		newMethodsCommand(g),
		newWipeCommand(g),
		newStationCommand(g),
		newPlanCommand(g),
		newVerifyCommand(g),
		newCertCommand(g),
		newKeysCommand(g),
		newVersionCommand(g),
		newAgentCommand(g),
		newKexecCommand(g),
	)
	cmd.AddCommand(fullOnlyCommands(g)...)
	return cmd
}

// run executes decom with args and returns the process exit code. Errors are printed
// here, once, as one line.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr}
	cmd := newRootCommand(g)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "decom: %s\n", errorMessage(err))
	}
	return exitCode(err)
}

// argsUsage wraps a cobra argument validator so that its complaints are usage errors.
func argsUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
