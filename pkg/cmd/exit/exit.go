// Package exit holds the errors a command returns to say how the process
// should end. Commands never call os.Exit: main turns these into exit codes,
// in one place.
package exit

import (
	"errors"
	"fmt"
)

// ErrSilent means the command has already told the person what went wrong;
// the process exits 1 and prints nothing more.
var ErrSilent = errors.New("silent error")

// ErrCancel means the person declined a confirmation.
var ErrCancel = errors.New("cancelled")

// Code ends the process with a specific code and nothing more printed: 2
// for `plan --detailed-exitcode` with changes, 3 for `fmt --check` with
// files to reformat.
type Code int

func (c Code) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// FlagError is a mistake in the command line; main prints it with usage.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}
