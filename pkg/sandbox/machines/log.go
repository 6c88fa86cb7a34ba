package machines

import (
	"bytes"
	"io"
	"sync"
)

// logWriter is the room's log, written by many processes at once: each
// writes whole lines, named by where they come from.
type logWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func newLogWriter(w io.Writer) *logWriter {
	if w == nil {
		w = io.Discard
	}
	return &logWriter{w: w}
}

func (l *logWriter) prefixed(name string) io.Writer {
	return &lineWriter{log: l, prefix: []byte("machines " + name + ": ")}
}

// lineWriter holds a partial line until its end arrives.
type lineWriter struct {
	log    *logWriter
	prefix []byte
	mu     sync.Mutex
	buf    []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			break
		}
		lw.log.mu.Lock()
		lw.log.w.Write(append(append([]byte{}, lw.prefix...), lw.buf[:i+1]...))
		lw.log.mu.Unlock()
		lw.buf = lw.buf[i+1:]
	}
	return len(p), nil
}
