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
	// Ctrl-C cancels the running command through its context: the engine
	// is asked to stop cleanly and the sandbox is shut down.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := factory.New(version)
	cmd := root.NewCmdRoot(f)
	cmd.SetArgs(args)
	executed, err := cmd.ExecuteContextC(ctx)
	return exitCode(err, executed, f)
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
