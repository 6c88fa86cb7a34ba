package mysqlserver_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/cosocial/cosocial/pkg/mysqlserver"
)

var ctx = context.Background()

func start(t *testing.T) *mysqlserver.Server {
	t.Helper()
	if _, _, err := mysqlserver.Programs(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	s, err := mysqlserver.Create(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Destroy(ctx) })
	return s
}

func query(t *testing.T, dsn, q string) (string, error) {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	err = db.QueryRowContext(ctx, q).Scan(&v)
	return v, err
}

// TestUserReachesItsDatabaseOverTCP: a user made as root logs in over TCP
// with its password, data survive a restart on another port, and root is
// not reachable over TCP at all.
func TestUserReachesItsDatabaseOverTCP(t *testing.T) {
	s := start(t)
	pw := `it's a "secret" \ with quotes`
	if err := s.Exec(ctx,
		"CREATE USER 'castopod'@'%' IDENTIFIED BY "+mysqlserver.QuoteLiteral(pw),
		"GRANT ALL ON "+mysqlserver.QuoteIdent("defaultdb")+".* TO 'castopod'@'%'",
	); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", s.DSN("castopod", pw, "defaultdb"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE episodes (id INT PRIMARY KEY, title TEXT)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO episodes VALUES (1, 'Pilot')"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := query(t, s.DSN("castopod", "wrong", "defaultdb"), "SELECT 1"); err == nil {
		t.Error("a wrong password logs in")
	}
	if _, err := query(t, s.DSN("root", "", ""), "SELECT 1"); err == nil {
		t.Error("root logs in over TCP")
	}

	old := s.Port
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := query(t, s.DSN("castopod", pw, "defaultdb"), "SELECT 1"); err == nil {
		t.Fatal("the server still answers after Stop")
	}
	again, err := mysqlserver.Open(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Start(ctx, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("port %d, then %d", old, again.Port)
	title, err := query(t, again.DSN("castopod", pw, "defaultdb"), "SELECT title FROM episodes WHERE id = 1")
	if err != nil || title != "Pilot" {
		t.Fatalf("after a restart: %q %v", title, err)
	}
	if err := again.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there: %v", s.Dir, err)
	}
}

// TestStopLeavesAnotherProgramAlone: a pid file naming a process that is
// not this folder's server (a stale file whose number was reused) is
// removed without signalling that process.
func TestStopLeavesAnotherProgramAlone(t *testing.T) {
	dir := t.TempDir()
	s := &mysqlserver.Server{Dir: dir}
	if err := os.WriteFile(filepath.Join(dir, "mariadbd.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mariadbd.pid")); !os.IsNotExist(err) {
		t.Errorf("the stale pid file is still there: %v", err)
	}
}
