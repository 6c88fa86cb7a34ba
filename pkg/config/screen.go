package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Limits on what is handed to the HCL parser. A co-op's description is a
// few kilobytes and nests four or five levels; these leave room for a
// generated one of thousands of resources while keeping a wrong or hostile
// file from exhausting memory (a 50 MB file took 2.3 GB) or the parser's
// stack (120 KB of nested '[' overflowed it).
const (
	MaxFileBytes = 8 << 20
	MaxNesting   = 64
)

// ReadSource reads a description file and screens it: one over
// MaxFileBytes is refused before it is read whole, and a binary or
// too-deeply nested one is refused with one diagnostic.
func ReadSource(name string) ([]byte, hcl.Diagnostics) {
	f, err := os.Open(name)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read description file", Detail: err.Error()}}
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read description file", Detail: fmt.Sprintf("%s: %v", name, err)}}
	}
	return src, screen(name, src)
}

// screen checks that src is something worth parsing: not too large, text
// rather than binary, and not nested past MaxNesting. Each problem is one
// diagnostic at its position, so a binary file gives one error instead of
// tens of thousands, and nothing of it is echoed to the terminal.
func screen(name string, src []byte) hcl.Diagnostics {
	if len(src) > MaxFileBytes {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Description file too large",
			Detail:   fmt.Sprintf("%s is larger than %d MiB; a description is a few kilobytes of text. Is -f pointing at the right file?", name, MaxFileBytes>>20),
			Subject:  rangeAt(name, src, 0).Ptr(),
		}}
	}
	if at := notText(src); at >= 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Not a text file",
			Detail:   fmt.Sprintf("%s holds a byte that UTF-8 text never does (at byte %d); a description is HCL text. Is -f pointing at the right file?", name, at),
			Subject:  rangeAt(name, src, at).Ptr(),
		}}
	}
	if at := tooDeep(src, MaxNesting); at >= 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Nested too deeply",
			Detail:   fmt.Sprintf("Brackets, braces and interpolations nest more than %d levels deep here; a description needs a handful.", MaxNesting),
			Subject:  rangeAt(name, src, at).Ptr(),
		}}
	}
	return nil
}

// notText is the offset of the first NUL byte or invalid UTF-8 sequence
// in src, or -1.
func notText(src []byte) int {
	if i := bytes.IndexByte(src, 0); i >= 0 {
		if j := invalidUTF8(src[:i]); j >= 0 {
			return j
		}
		return i
	}
	return invalidUTF8(src)
}

func invalidUTF8(src []byte) int {
	if utf8.Valid(src) {
		return -1
	}
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// tooDeep is the offset at which src first nests deeper than limit, or
// -1. It follows HCL's lexical modes (expressions, quoted strings with
// their ${ } and %{ } interpolations, comments, heredocs) closely enough
// to count nesting, not to parse: what it cannot place, the parser
// reports.
func tooDeep(src []byte, limit int) int {
	const (
		expr = iota
		str
	)
	var modes []int // every open bracket or string, innermost last
	mode := func() int {
		if len(modes) == 0 {
			return expr
		}
		return modes[len(modes)-1]
	}
	push := func(m int) bool {
		modes = append(modes, m)
		return len(modes) > limit
	}
	pop := func() {
		if len(modes) > 0 {
			modes = modes[:len(modes)-1]
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if mode() == str {
			switch {
			case c == '\\':
				i++
			case c == '"' || c == '\n':
				pop()
			case (c == '$' || c == '%') && i+2 < len(src) && src[i+1] == c && src[i+2] == '{':
				i += 2 // $${ and %%{ are literals
			case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
				i++
				if push(expr) {
					return i
				}
			}
			continue
		}
		switch c {
		case '"':
			if push(str) {
				return i
			}
		case '{', '[', '(':
			if push(expr) {
				return i
			}
		case '}', ']', ')':
			pop()
		case '#':
			i = endOfLine(src, i)
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				i = endOfLine(src, i)
			} else if i+1 < len(src) && src[i+1] == '*' {
				if end := bytes.Index(src[i+2:], []byte("*/")); end >= 0 {
					i += end + 3
				} else {
					i = len(src)
				}
			}
		case '<':
			if i+1 < len(src) && src[i+1] == '<' {
				i = afterHeredoc(src, i)
			}
		}
	}
	return -1
}

func endOfLine(src []byte, i int) int {
	if j := bytes.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(src)
}

// afterHeredoc skips a heredoc that starts at src[i] ("<<EOT" or
// "<<-EOT"), returning the offset of its closing line's end; anything that
// is not a heredoc opener is left to the parser.
func afterHeredoc(src []byte, i int) int {
	j := i + 2
	if j < len(src) && src[j] == '-' {
		j++
	}
	start := j
	for j < len(src) && (src[j] == '_' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= '0' && src[j] <= '9') {
		j++
	}
	if j == start || j >= len(src) || src[j] != '\n' {
		return i + 1
	}
	marker := src[start:j]
	for line := j + 1; line < len(src); {
		end := endOfLine(src, line)
		if bytes.Equal(bytes.TrimSpace(src[line:end]), marker) {
			return end
		}
		line = end + 1
	}
	return len(src)
}

// rangeAt is the one-character range at offset in src, with its line and
// column counted once.
func rangeAt(name string, src []byte, offset int) hcl.Range {
	offset = min(max(offset, 0), len(src))
	line := 1 + bytes.Count(src[:offset], []byte("\n"))
	lineStart := bytes.LastIndexByte(src[:offset], '\n') + 1
	col := 1 + utf8.RuneCount(src[lineStart:offset])
	pos := hcl.Pos{Line: line, Column: col, Byte: offset}
	end := pos
	if offset < len(src) {
		end = hcl.Pos{Line: line, Column: col + 1, Byte: offset + 1}
	}
	return hcl.Range{Filename: name, Start: pos, End: end}
}
