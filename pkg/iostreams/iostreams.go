// Package iostreams is the one place that knows about the terminal: where
// output goes, whether stdout and stderr are terminals, whether to colour
// (decided once, respecting NO_COLOR), and whether the tool may ask a
// question. Commands write through it so tests can swap in buffers.
package iostreams

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"
)

// IOStreams carries a command's input and output.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	colorOut  bool
	colorErr  bool
	width     int
}

// System returns the process's own streams, with terminal facts read once.
func System() *IOStreams {
	s := &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		width:     80,
	}
	if s.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
			s.width = w
		}
	} else if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		s.width = c
	}
	noColor := os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb"
	force := os.Getenv("CLICOLOR_FORCE") != "" && os.Getenv("CLICOLOR_FORCE") != "0"
	s.colorOut = force || (!noColor && s.stdoutTTY)
	s.colorErr = force || (!noColor && s.stderrTTY)
	return s
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Test returns streams backed by buffers: no terminal, no colour.
func Test() (s *IOStreams, in *bytes.Buffer, out *bytes.Buffer, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, width: 80}, in, out, errOut
}

// SetTTY makes a test's streams behave as terminals (or not).
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// SetColor turns colour on or off for both streams, for tests.
func (s *IOStreams) SetColor(on bool) { s.colorOut, s.colorErr = on, on }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// CanPrompt reports whether the tool may ask the person a question.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY }

// Width is the terminal's width in columns (80 when not a terminal).
func (s *IOStreams) Width() int { return s.width }

// ColorScheme returns the colours for standard output.
func (s *IOStreams) ColorScheme() *ColorScheme { return &ColorScheme{enabled: s.colorOut} }

// ErrColorScheme returns the colours for standard error.
func (s *IOStreams) ErrColorScheme() *ColorScheme { return &ColorScheme{enabled: s.colorErr} }

// ColorScheme wraps text in ANSI styles when colour is on, and returns it
// unchanged otherwise, so callers never test for colour themselves.
type ColorScheme struct{ enabled bool }

// Enabled says whether this scheme colours anything.
func (c *ColorScheme) Enabled() bool { return c.enabled }

func (c *ColorScheme) wrap(code, s string) string {
	if !c.enabled || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (c *ColorScheme) Bold(s string) string      { return c.wrap("1", s) }
func (c *ColorScheme) Underline(s string) string { return c.wrap("4", s) }
func (c *ColorScheme) Red(s string) string       { return c.wrap("31", s) }
func (c *ColorScheme) Green(s string) string     { return c.wrap("32", s) }
func (c *ColorScheme) Yellow(s string) string    { return c.wrap("33", s) }
func (c *ColorScheme) Cyan(s string) string      { return c.wrap("36", s) }
func (c *ColorScheme) Gray(s string) string      { return c.wrap("90", s) }

// Strip removes ANSI styles; tests and width calculations use it.
func Strip(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && s[j] != 'm' {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
