// Package cli is the stella command line: the cobra command tree, a client of
// the Integration Hub's HTTP API, and its table/JSON/YAML output.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes: scripts branch on these, so they never change meaning.
const (
	ExitOK           = 0 // success
	ExitError        = 1 // any other failure, including server errors (5xx)
	ExitInvalidInput = 2 // bad usage, or the API refused the input (400, 409, 412, 413, 415)
	ExitNotFound     = 3 // the API answered 404
	ExitUnauthorized = 4 // the API answered 401 or 403
	ExitUnreachable  = 5 // connection refused, timeout or DNS failure
)

// Version is the CLI's version, set at build time with
// -ldflags "-X github.com/stella-ops/inthub/services/stella/cli.Version=1.2.3".
var Version = "dev"

// deprecationLine is printed, once, before any deprecated `stella integrations` command.
const deprecationLine = "stella integrations is deprecated; use stella config integrations"

// aliasAnnotation marks the root of the deprecated command tree.
const aliasAnnotation = "stella/deprecated-alias"

// Execute runs stella with the process's arguments, streams and environment
// and returns its exit code; Ctrl-C cancels the request in flight.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
}

// Run runs stella with args (without the program name) and returns its exit
// code. getenv supplies the environment (STELLA_SERVER, STELLA_TOKEN,
// STELLA_CONFIG, HOME, XDG_CONFIG_HOME); a nil getenv means an empty one.
func Run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return RunContext(context.Background(), args, stdout, stderr, getenv)
}

// RunContext is Run with a context that cancels the command. It has no
// standard input, so commands that would ask for a confirmation need their
// flag (--yes) instead.
func RunContext(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	return run(ctx, args, nil, stdout, stderr, getenv)
}

// run is RunContext with the process's standard input, when it has one.
func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv, isTerminal: isTerminal}
	if stdin != nil {
		a.stdin, a.stdinTerminal = stdin, term.IsTerminal(int(stdin.Fd()))
	}
	root := a.newRoot()
	root.SetArgs(args)
	if cmd, _, err := root.Find(args); err == nil && isDeprecatedAlias(cmd) {
		fmt.Fprintln(stderr, deprecationLine)
	}
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := a.exitCode(err)
	a.printError(cmd, err, code)
	return code
}

// app is one invocation: its streams, environment and global flags.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	isTerminal     func(io.Writer) bool
	// stdin answers confirmations; it is asked only when stdinTerminal
	// says a person is there to answer.
	stdin         io.Reader
	stdinTerminal bool

	// Global flags.
	server     string
	token      string
	configPath string
	output     string
	timeout    time.Duration

	// ran is set once a command's own code starts: an error before that
	// came from cobra's parsing, so it is a usage error.
	ran bool

	api       *client
	providers *providerCatalog
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

const rootLong = `stella is the Release Orchestrator's command line. This build manages the
Integration Hub's live catalog: stella config integrations ...

Server and token, first found wins:
  1. the flags --server and --token
  2. the environment: STELLA_SERVER, STELLA_TOKEN
  3. the config file: --config PATH, else $STELLA_CONFIG, else
     $XDG_CONFIG_HOME/stella/config.yaml (~/.config/stella/config.yaml),
     a YAML file with the keys server and token
  4. the default server http://localhost:8080 (no default token)

On create and update --config means key=value (an integration's config):
choose the CLI's config file there with STELLA_CONFIG.

Exit codes:
  0  success
  1  other failure, including server errors
  2  invalid input: bad usage, or the API refused it (400, 409, 412, 413, 415)
  3  not found (404)
  4  unauthorised (401, 403)
  5  server unreachable (connection refused, timeout, DNS)
stella pipelines trigger --wait exits 0 when the run succeeded and 1 when it
failed or was cancelled.`

func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "stella",
		Short: "The Release Orchestrator's command line",
		Long:  rootLong,
		Example: `  stella config integrations providers
  stella config integrations list -o yaml
  STELLA_SERVER=https://hub.example.com STELLA_TOKEN=... stella config integrations list`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          a.noArgs,
		RunE:          a.helpOrUnknown,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.server, "server", "", "hub API base URL (env STELLA_SERVER; default http://localhost:8080)")
	pf.StringVar(&a.token, "token", "", "bearer token (env STELLA_TOKEN)")
	pf.StringVar(&a.configPath, "config", "", "CLI config file (env STELLA_CONFIG; default ~/.config/stella/config.yaml)")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table, wide (a table with more columns), json or yaml")
	pf.DurationVar(&a.timeout, "timeout", 60*time.Second, "how long to wait for the server's answer")
	_ = root.RegisterFlagCompletionFunc("output", fixedCompletion("table", "wide", "json", "yaml"))

	config := &cobra.Command{
		Use:     "config",
		Short:   "Configure the Release Orchestrator",
		Example: "  stella config integrations list",
		Args:    a.noArgs,
		RunE:    a.helpOrUnknown,
	}
	config.AddCommand(a.newIntegrationsCmd(false))
	root.AddCommand(config, a.newIntegrationsCmd(true), a.newMetricsCmd(), a.newAnalysisCmd(), a.newPipelinesCmd(), a.newEventsCmd(), a.newDLQCmd(), a.newRulesCmd(), a.newAuditCmd(), a.newWhoamiCmd(), a.newVersionCmd())

	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  stella help config integrations create"
		case "completion":
			c.Example = "  source <(stella completion bash)\n  stella completion zsh > \"${fpath[1]}/_stella\"\n  stella completion fish > ~/.config/fish/completions/stella.fish"
			for _, sh := range c.Commands() {
				sh.Example = "  stella completion " + sh.Name() + " > stella-completion." + sh.Name()
			}
		}
	}
	return root
}

// isDeprecatedAlias reports whether cmd is in the `stella integrations` tree.
func isDeprecatedAlias(cmd *cobra.Command) bool {
	for c := cmd; c != nil; c = c.Parent() {
		if c.Annotations[aliasAnnotation] != "" {
			return true
		}
	}
	return false
}

// helpOrUnknown is the action of a command group: help, or an unknown
// subcommand (cobra would otherwise show help and exit 0).
func (a *app) helpOrUnknown(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return cmd.Help()
}

func (a *app) noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 && cmd.HasSubCommands() {
		return usageErr("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	if len(args) > 0 {
		return usageErr("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}

// exactArgs requires n arguments and names them in the error.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usageErr("%s needs %s, got %d argument(s)", cmd.CommandPath(), strings.Join(names, " and "), len(args))
		}
		for i, v := range args {
			if strings.TrimSpace(v) == "" {
				return usageErr("%s must not be empty", names[i])
			}
		}
		return nil
	}
}

// action wraps a command's code: it checks -o and records that the command
// ran, so later errors are not mistaken for usage errors.
func (a *app) action(run func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		switch a.output {
		case "table", "wide", "json", "yaml":
		default:
			return usageErr("--output must be table, wide, json or yaml, not %q", a.output)
		}
		a.ran = true
		return run(cmd, args)
	}
}

// usageError is invalid input found by the CLI itself.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError carries an explicit exit code (a failed integration test).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func (a *app) exitCode(err error) int {
	var api *apiError
	var usage *usageError
	var unreachable *unreachableError
	var exit *exitError
	switch {
	case errors.As(err, &exit):
		return exit.code
	case errors.As(err, &usage):
		return ExitInvalidInput
	case errors.As(err, &api):
		return api.exitCode()
	case errors.As(err, &unreachable):
		return ExitUnreachable
	case !a.ran:
		// Cobra's own errors (unknown flag, bad flag value, wrong arguments).
		return ExitInvalidInput
	}
	return ExitError
}

// printError writes the error, the API's code first, and a hint where one helps.
func (a *app) printError(cmd *cobra.Command, err error, code int) {
	fmt.Fprintf(a.stderr, "error: %v\n", err)
	var api *apiError
	if errors.As(err, &api) {
		if d := api.detailsLine(); d != "" {
			fmt.Fprintf(a.stderr, "  details: %s\n", d)
		}
	}
	switch code {
	case ExitInvalidInput:
		if !a.ran && cmd != nil {
			fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	case ExitUnauthorized:
		if api != nil && api.Body.Code == "FORBIDDEN" {
			fmt.Fprintln(a.stderr, "hint: this command needs a token with the operator role")
		} else {
			fmt.Fprintln(a.stderr, "hint: give a valid token with --token, STELLA_TOKEN or the config file's token key")
		}
	case ExitNotFound:
		if api != nil && api.Body.Code == "NOT_FOUND" {
			fmt.Fprintln(a.stderr, "hint: the server does not offer this endpoint; it may be older than this CLI")
		}
	case ExitUnreachable:
		fmt.Fprintln(a.stderr, "hint: check --server, STELLA_SERVER or the config file's server key, and that the hub is running")
	}
}
