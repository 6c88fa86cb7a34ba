// Package views renders what the tool found for people and for machines:
// diagnostics, the residency report and (later) plans. Each result is one
// value rendered once, at the edge, by a view chosen by the output format;
// the JSON forms carry a format version and never-null arrays so scripts and
// CI can rely on them.
package views

import (
	"bytes"
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

// Diagnostics writes diagnostics for people: severity and summary, the file,
// line and column, the source line with the subject underlined, the detail.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, cs *iostreams.ColorScheme) {
	for _, d := range diags {
		diagnostic(w, d, files, cs)
	}
}

func diagnostic(w io.Writer, d *hcl.Diagnostic, files map[string]*hcl.File, cs *iostreams.ColorScheme) {
	label := cs.Bold(cs.Red("Error:"))
	mark := cs.Red
	if d.Severity == hcl.DiagWarning {
		label = cs.Bold(cs.Yellow("Warning:"))
		mark = cs.Yellow
	}
	fmt.Fprintf(w, "%s %s\n", label, cs.Bold(d.Summary))
	if d.Subject != nil {
		fmt.Fprintf(w, "\n  on %s line %d, column %d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		f := files[d.Subject.Filename]
		if f != nil {
			if ctx := contextString(f, d.Subject.Start.Byte); ctx != "" {
				fmt.Fprintf(w, ", in %s", ctx)
			}
		}
		fmt.Fprintln(w, ":")
		if f != nil {
			snippet(w, f.Bytes, *d.Subject, cs, mark)
		}
	}
	if d.Detail != "" {
		fmt.Fprintf(w, "\n%s\n", d.Detail)
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

// snippet prints the subject's first line and a row of carets under it.
func snippet(w io.Writer, src []byte, rng hcl.Range, cs *iostreams.ColorScheme, mark func(string) string) {
	lines := bytes.Split(src, []byte("\n"))
	if rng.Start.Line < 1 || rng.Start.Line > len(lines) {
		return
	}
	text := strings.TrimRight(string(lines[rng.Start.Line-1]), "\r")
	// Columns count characters; turn them back into byte offsets within the
	// line so that text with accents is underlined where it should be.
	from := clamp(byteOffset(text, rng.Start.Column-1), 0, len(text))
	to := len(text)
	if rng.End.Line == rng.Start.Line {
		to = clamp(from+(rng.End.Byte-rng.Start.Byte), from, len(text))
	}
	prefix := fmt.Sprintf("  %d: ", rng.Start.Line)
	fmt.Fprintf(w, "%s%s%s%s\n", prefix, text[:from], cs.Underline(text[from:to]), text[to:])
	var pad strings.Builder
	pad.WriteString(strings.Repeat(" ", len(prefix)))
	for _, r := range text[:from] {
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	width := max(1, utf8.RuneCountInString(text[from:to]))
	fmt.Fprintf(w, "%s%s\n", pad.String(), mark(strings.Repeat("^", width)))
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
