package localserver

import (
	"net"
	"strconv"
	"testing"
)

func TestStatementNameKeepsNoPassword(t *testing.T) {
	got := StatementName("CREATE USER 'castopod'@'%' IDENTIFIED BY 'hunter2'")
	if got != "CREATE USER 'castopod'@'%'" {
		t.Errorf("StatementName = %q", got)
	}
	if StatementName("  VACUUM ") != "VACUUM" {
		t.Errorf("a one-word statement: %q", StatementName("  VACUUM "))
	}
}

func TestFreePortIsFree(t *testing.T) {
	p, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	l.Close()
}
