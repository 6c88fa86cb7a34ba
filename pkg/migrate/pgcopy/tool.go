package pgcopy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// ToolError is pg_dump or pg_restore failing; Stderr is the end of what
// it wrote, secrets removed.
type ToolError struct {
	Tool     string
	ExitCode int
	Stderr   string
	Err      error
}

func (e *ToolError) Error() string {
	msg := fmt.Sprintf("%s failed (exit %d)", e.Tool, e.ExitCode)
	if e.ExitCode < 0 && e.Err != nil {
		msg = fmt.Sprintf("%s failed: %v", e.Tool, e.Err)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func (e *ToolError) Unwrap() error { return e.Err }

// stderrKeep bounds how much of a tool's stderr an error carries: the
// first error is what matters and a failing restore can repeat itself for
// megabytes.
const stderrKeep = 8 << 10

// tool is one prepared run of a PostgreSQL client program.
type tool struct {
	name string
	cmd  *exec.Cmd
	err  *boundedBuffer
}

func (p *pair) tool(ctx context.Context, name string, e *endpoint, args ...string) (*tool, error) {
	bin, err := p.opts.binDir()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, name), args...)
	cmd.Env = toolEnv(e.password)
	t := &tool{name: name, cmd: cmd, err: &boundedBuffer{max: stderrKeep}}
	var w io.Writer = t.err
	if p.opts.ToolOutput != nil {
		w = io.MultiWriter(t.err, &lineRedactor{w: p.opts.ToolOutput, r: p.secrets})
	}
	cmd.Stderr = w
	return t, nil
}

// toolEnv is this process's environment with libpq's own variables
// removed, so that only the connection string decides where a tool
// connects, plus the password.
func toolEnv(password string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PGPASSWORD=") || strings.HasPrefix(kv, "PGDATABASE=") || strings.HasPrefix(kv, "PGOPTIONS=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PGAPPNAME=cosocial-migrate")
	if password != "" {
		env = append(env, "PGPASSWORD="+password)
	}
	return env
}

func (t *tool) wait(p *pair, err error) error {
	if err == nil {
		return nil
	}
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return &ToolError{Tool: t.name, ExitCode: code, Stderr: p.secrets.text(t.err.String()), Err: p.redact(err)}
}

func (t *tool) run(p *pair) error { return t.wait(p, t.cmd.Run()) }

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
	cut bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	if b.buf.Len() >= b.max {
		b.cut = true
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return b.buf.String() + "\n[…]"
	}
	return b.buf.String()
}

// lineRedactor passes whole lines on with secrets removed; a secret cut
// across two writes would otherwise slip through.
type lineRedactor struct {
	mu      sync.Mutex
	w       io.Writer
	r       redactor
	pending []byte
}

func (l *lineRedactor) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, p...)
	for {
		i := bytes.IndexByte(l.pending, '\n')
		if i < 0 {
			break
		}
		if _, err := io.WriteString(l.w, l.r.text(string(l.pending[:i+1]))); err != nil {
			return len(p), nil // the copy is a courtesy; it never fails a dump
		}
		l.pending = l.pending[i+1:]
	}
	return len(p), nil
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?`)

// Version is a PostgreSQL program's or server's version.
type Version struct {
	Major, Minor int
	Text         string
}

func (v Version) String() string { return v.Text }

// toolVersion asks a client program for its version.
func (p *pair) toolVersion(ctx context.Context, name string) (Version, error) {
	bin, err := p.opts.binDir()
	if err != nil {
		return Version{}, err
	}
	out, err := exec.CommandContext(ctx, filepath.Join(bin, name), "--version").Output()
	if err != nil {
		return Version{}, fmt.Errorf("%s --version: %w", name, err)
	}
	return parseToolVersion(string(out))
}

func parseToolVersion(out string) (Version, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return Version{}, fmt.Errorf("unexpected version output %q", strings.TrimSpace(out))
	}
	v := Version{Text: strings.TrimSpace(out)}
	v.Major, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		v.Minor, _ = strconv.Atoi(m[2])
	}
	return v, nil
}

// serverVersion turns server_version_num into a Version.
func serverVersion(num int, text string) Version {
	// Before 10 the major version had two parts (9.6); counting it as 9
	// still orders it below 10, which is all the checks need.
	return Version{Major: num / 10000, Minor: num % 10000, Text: text}
}
