// Command cosocial is the co-op's infrastructure tool. main only wires the
// factory to the command tree and turns the error a command returns into
// the process's exit code.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/cmd/root"
	"github.com/cosocial/cosocial/pkg/providerplugin"
	"github.com/cosocial/cosocial/pkg/s3server"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes shared by all commands.
const (
	exitOK        = 0
	exitError     = 1
	exitCancelled = 130 // the shell's code for an interrupted command
)

func main() {
	// The engine starts this same binary as its provider plugin, through a
	// link named pulumi-resource-cosocial; nothing else may run first.
	if filepath.Base(os.Args[0]) == "pulumi-resource-"+providerplugin.Name {
		if err := providerplugin.Serve(); err != nil {
			fmt.Fprintf(os.Stderr, "pulumi-resource-cosocial: %v\n", err)
			os.Exit(1)
		}
		return
	}
	// A cosocial installed alone runs itself as the sandbox's S3 server.
	if filepath.Base(os.Args[0]) == s3server.GatewayName {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := s3server.ServeGateway(ctx, os.Args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", s3server.GatewayName, err)
			os.Exit(1)
		}
		return
	}
	if exe, err := os.Executable(); err == nil {
		s3server.SelfGateway = exe
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	f := factory.New(version)
	cmd := root.NewCmdRoot(f)
	cmd.SetArgs(args)
	target, _, findErr := cmd.Find(args)
	if findErr != nil {
		target = nil
	}
	ctx, interrupted := watchSignals(f, target)
	executed, err := cmd.ExecuteContextC(ctx)
	if sig := interrupted(); sig != nil && (target == nil || !root.Serves(target)) {
		return interruptedCode(f, sig, err)
	}
	return exitCode(err, executed, f)
}

// watchSignals turns SIGINT and SIGTERM into the command's cancellation:
// the first asks the command to stop cleanly (the engine finishes or
// abandons its current operations and records them, the sandbox shuts
// down), a second exits at once. A command that changes nothing outside
// the process (root.LocalOnly) exits at the first. interrupted reports
// the first signal, or nil.
func watchSignals(f *factory.Factory, target *cobra.Command) (ctx context.Context, interrupted func() os.Signal) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var mu sync.Mutex
	var first os.Signal
	localOnly := target != nil && root.LocalOnly(target)
	serves := target != nil && root.Serves(target)
	go func() {
		sig := <-sigs
		mu.Lock()
		first = sig
		mu.Unlock()
		if localOnly {
			fmt.Fprintln(f.IOStreams.ErrOut, "\nInterrupted: nothing was changed.")
			os.Exit(signalCode(sig))
		}
		if !serves {
			fmt.Fprintln(f.IOStreams.ErrOut, "\nInterrupted: stopping cleanly, recording what is done (press Ctrl-C again to quit at once; that may leave work unrecorded).")
		}
		cancel()
		sig = <-sigs
		fmt.Fprintln(f.IOStreams.ErrOut, "\nQuit at once: operations under way were not recorded. Run `cosocial refresh`, then `cosocial plan`, to see where things stand.")
		os.Exit(signalCode(sig))
	}()
	return ctx, func() os.Signal {
		mu.Lock()
		defer mu.Unlock()
		return first
	}
}

// interruptedCode ends a command that a signal stopped: what it was doing
// was cancelled, so its error is the cancellation, and the shell's code
// for the signal says so to scripts.
func interruptedCode(f *factory.Factory, sig os.Signal, err error) int {
	stderr := f.IOStreams.ErrOut
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, exit.ErrSilent) {
		fmt.Fprintf(stderr, "Error: %s\n", err)
	}
	fmt.Fprintln(stderr, "Stopped by the interrupt. What finished is recorded in the state; `cosocial plan` shows what is left, and running the command again finishes it.")
	return signalCode(sig)
}

// signalCode is the shell's exit status for a process ended by sig:
// 128 and the signal's number (130 for Ctrl-C, 143 for SIGTERM).
func signalCode(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitCancelled
}

func exitCode(err error, cmd *cobra.Command, f *factory.Factory) int {
	if err == nil {
		return exitOK
	}
	stderr := f.IOStreams.ErrOut
	var code exit.Code
	var flagErr *exit.FlagError
	switch {
	case errors.As(err, &code):
		return int(code)
	case errors.Is(err, exit.ErrSilent):
		return exitError
	case errors.Is(err, exit.ErrCancel):
		fmt.Fprintln(stderr, "Cancelled: nothing was changed.")
		return exitCancelled
	case errors.As(err, &flagErr) || strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintf(stderr, "Error: %s\n\n", err)
		if cmd != nil {
			fmt.Fprint(stderr, cmd.UsageString())
		}
		return exitError
	}
	fmt.Fprintf(stderr, "Error: %s\n", err)
	return exitError
}
