// Package localserver holds what the servers cosocial runs on this machine
// for the sandbox and tests (PostgreSQL, MariaDB, versitygw) share: a free
// loopback port to start on, and SQL statements named in errors without
// their values.
package localserver

import (
	"net"
	"strings"
)

// FreePort finds a loopback port nothing listens on. Another program may
// take it before the server binds it, so callers try again on failure.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StatementName is a statement's first words, to name it in an error: the
// rest may hold a password.
func StatementName(stmt string) string {
	f := strings.Fields(stmt)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}
