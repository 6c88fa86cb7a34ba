// Package views renders what the tool found for people and for machines:
// diagnostics, the residency report and (later) plans. Each result is one
// value rendered once, at the edge, by a view chosen by the output format;
// the JSON forms carry a format version and never-null arrays so scripts and
// CI can rely on them.
package views

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"

	"github.com/cosocial/cosocial/pkg/iostreams"
)

// FormatVersion is the version of every JSON document the tool prints. It
// changes only when a field changes meaning or disappears.
const FormatVersion = "1.0"

// MaxShown is how many diagnostics a person is shown at once; the rest are
// counted. A wrong file can hold thousands of problems, and the first few
// are the ones to fix (the JSON form lists them all).
const MaxShown = 20

// Diagnostics writes diagnostics for people: severity and summary, the file,
// line and column, the source line with the subject underlined, the detail.
// Control characters from the files are shown escaped, never sent to the
// terminal.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, cs *iostreams.ColorScheme) {
	lines := lineIndex{}
	for i, d := range diags {
		if i == MaxShown {
			errs, warns := Count(diags[i:])
			fmt.Fprintf(w, "…and %d more not shown (%d errors, %d warnings). Fix the ones above and run again; --json lists them all.\n\n", len(diags)-i, errs, warns)
			return
		}
		diagnostic(w, d, files, lines, cs)
	}
}

func diagnostic(w io.Writer, d *hcl.Diagnostic, files map[string]*hcl.File, lines lineIndex, cs *iostreams.ColorScheme) {
	label := cs.Bold(cs.Red("Error:"))
	mark := cs.Red
	if d.Severity == hcl.DiagWarning {
		label = cs.Bold(cs.Yellow("Warning:"))
		mark = cs.Yellow
	}
	fmt.Fprintf(w, "%s %s\n", label, cs.Bold(printable(d.Summary, false)))
	if d.Subject != nil {
		fmt.Fprintf(w, "\n  on %s line %d, column %d", printable(d.Subject.Filename, false), d.Subject.Start.Line, d.Subject.Start.Column)
		f := files[d.Subject.Filename]
		if f != nil {
			if ctx := contextString(f, d.Subject.Start.Byte); ctx != "" {
				fmt.Fprintf(w, ", in %s", printable(ctx, false))
			}
		}
		fmt.Fprintln(w, ":")
		if f != nil {
			if text, ok := lines.line(d.Subject.Filename, f.Bytes, d.Subject.Start.Line); ok {
				snippet(w, text, *d.Subject, cs, mark)
			}
		}
	}
	if d.Detail != "" {
		fmt.Fprintf(w, "\n%s\n", printable(d.Detail, true))
	}
	fmt.Fprintln(w)
}

// contextString names the block a position is inside, e.g. `server "web"`.
func contextString(f *hcl.File, offset int) string {
	if nav, ok := f.Nav.(interface{ ContextString(int) string }); ok {
		return nav.ContextString(offset)
	}
	return ""
}

// lineIndex finds a file's lines by number, splitting each file once
// however many diagnostics point into it.
type lineIndex map[string][]int

// line is line n (1-based) of src without its line ending, ok false when
// there is no such line.
func (ix lineIndex) line(name string, src []byte, n int) (text string, ok bool) {
	starts, seen := ix[name]
	if !seen {
		starts = []int{0}
		for i, b := range src {
			if b == '\n' {
				starts = append(starts, i+1)
			}
		}
		ix[name] = starts
	}
	if n < 1 || n > len(starts) {
		return "", false
	}
	end := len(src)
	if n < len(starts) {
		end = starts[n] - 1
	}
	return strings.TrimRight(string(src[starts[n-1]:end]), "\r"), true
}

// snippet prints the subject's first line and a row of carets under it.
func snippet(w io.Writer, text string, rng hcl.Range, cs *iostreams.ColorScheme, mark func(string) string) {
	// Columns count characters; turn them back into byte offsets within the
	// line so that text with accents is underlined where it should be.
	from := clamp(byteOffset(text, rng.Start.Column-1), 0, len(text))
	to := len(text)
	if rng.End.Line == rng.Start.Line {
		to = clamp(from+(rng.End.Byte-rng.Start.Byte), from, len(text))
	}
	before, subject, after := printable(text[:from], false), printable(text[from:to], false), printable(text[to:], false)
	prefix := fmt.Sprintf("  %d: ", rng.Start.Line)
	fmt.Fprintf(w, "%s%s%s%s\n", prefix, before, cs.Underline(subject), after)
	var pad strings.Builder
	pad.WriteString(strings.Repeat(" ", len(prefix)))
	for _, r := range before {
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	width := max(1, utf8.RuneCountInString(subject))
	fmt.Fprintf(w, "%s%s\n", pad.String(), mark(strings.Repeat("^", width)))
}

// printable escapes what a terminal would act on instead of showing: C0
// and C1 control characters (ESC, BEL, carriage return...), DEL and bytes
// that are not UTF-8. Tabs stay, and newlines where the text is a
// paragraph.
func printable(s string, newlines bool) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r, newlines) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unsafeRune(r, newlines):
			if r < 0x100 {
				fmt.Fprintf(&b, "\\x%02x", r)
			} else {
				fmt.Fprintf(&b, "\\u%04x", r)
			}
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune, newlines bool) bool {
	switch {
	case r == '\t', r == '\n' && newlines:
		return false
	case r == utf8.RuneError:
		return true
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x2028, r == 0x2029, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		// Line separators and bidirectional overrides reorder or break
		// what the terminal shows.
		return true
	}
	return false
}

func byteOffset(line string, chars int) int {
	off := 0
	for i := 0; i < chars && off < len(line); i++ {
		_, size := utf8.DecodeRuneInString(line[off:])
		off += size
	}
	return off
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// JSONPos is a position in a file: 1-based line and column, 0-based byte.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONRange is a diagnostic's subject.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONDiagnostic is one diagnostic in machine-readable form.
type JSONDiagnostic struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail"`
	Range    *JSONRange `json:"range"`
}

// JSONDiagnostics converts diagnostics, always returning a non-nil slice.
func JSONDiagnostics(diags hcl.Diagnostics) []JSONDiagnostic {
	out := make([]JSONDiagnostic, 0, len(diags))
	for _, d := range diags {
		jd := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
		}
		if d.Subject != nil {
			jd.Range = &JSONRange{
				Filename: d.Subject.Filename,
				Start:    JSONPos{d.Subject.Start.Line, d.Subject.Start.Column, d.Subject.Start.Byte},
				End:      JSONPos{d.Subject.End.Line, d.Subject.End.Column, d.Subject.End.Byte},
			}
		}
		out = append(out, jd)
	}
	return out
}

// WriteJSON writes v as indented JSON followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Count returns the number of errors and warnings.
func Count(diags hcl.Diagnostics) (errors, warnings int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
