package pgcopy

import (
	"errors"
	"strings"
	"testing"
)

func TestRedactAndStrip(t *testing.T) {
	tests := []struct{ in, redacted, stripped string }{
		{"postgres://doadmin:hunter2@db.example:25060/defaultdb?sslmode=require",
			"postgres://doadmin:xxxxx@db.example:25060/defaultdb?sslmode=require",
			"postgres://doadmin@db.example:25060/defaultdb?sslmode=require"},
		{"postgresql://u:p%40ss@h1:5432,h2:5432/db",
			"postgresql://u:xxxxx@h1:5432,h2:5432/db",
			"postgresql://u@h1:5432,h2:5432/db"},
		{"postgres://u@h/db?password=hunter2&sslmode=verify-full",
			"postgres://u@h/db?password=xxxxx&sslmode=verify-full",
			"postgres://u@h/db?sslmode=verify-full"},
		{"postgres://h/db", "postgres://h/db", "postgres://h/db"},
		{`host=db port=5432 user=doadmin password='hun ter\'2' dbname=mastodon`,
			`host=db port=5432 user=doadmin password=xxxxx dbname=mastodon`,
			`host=db port=5432 user=doadmin dbname=mastodon`},
		{`host = db password = plain sslmode=require`,
			`host=db password=xxxxx sslmode=require`,
			`host=db sslmode=require`},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.redacted {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.redacted)
		}
		if got := stripPassword(tt.in); got != tt.stripped {
			t.Errorf("stripPassword(%q) = %q, want %q", tt.in, got, tt.stripped)
		}
	}
}

func TestEndpointKeepsPasswordApart(t *testing.T) {
	e, err := parseEndpoint("source", `host=127.0.0.1 user=doadmin password='s3 cr\'et' dbname=x`)
	if err != nil {
		t.Fatal(err)
	}
	if e.password != `s3 cr'et` || strings.Contains(e.public, "s3") {
		t.Errorf("password %q, public form %q", e.password, e.public)
	}
	_, err = parseEndpoint("target", "postgres://u:s3cret@host:notaport/db")
	var ce *ConnError
	if !errors.As(err, &ce) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a malformed DSN's error shows the password or is not a ConnError: %v", err)
	}
}

func TestParseVersionsAndLSN(t *testing.T) {
	v, err := parseToolVersion("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n")
	if err != nil || v.Major != 15 || v.Minor != 18 {
		t.Errorf("pg_dump version = %+v, %v", v, err)
	}
	if v := serverVersion(90624, "9.6.24"); v.Major >= 10 {
		t.Errorf("9.6 counted as major %d", v.Major)
	}
	l, err := ParseLSN("16/B374D848")
	if err != nil || l != 0x16B374D848 || l.String() != "16/B374D848" {
		t.Errorf("ParseLSN = %v (%x), %v", l, uint64(l), err)
	}
	if _, err := ParseLSN("nonsense"); err == nil {
		t.Error("ParseLSN accepted nonsense")
	}
}

func TestLineRedactorHidesSecretsSplitAcrossWrites(t *testing.T) {
	var out strings.Builder
	w := &lineRedactor{w: &out, r: redactor{"hunter2"}}
	w.Write([]byte("pg_restore: error: password hun"))
	w.Write([]byte("ter2 rejected\nnext line\n"))
	if strings.Contains(out.String(), "hunter2") || !strings.Contains(out.String(), "next line") {
		t.Errorf("output %q", out.String())
	}
}
