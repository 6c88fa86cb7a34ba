package pgserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestClusterLifecycle(t *testing.T) {
	if _, err := BinDir(); err != nil {
		t.Skipf("SKIP: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(TempDir(t), "data")
	c, err := Create(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Destroy(context.Background()) })

	if err := c.Exec(ctx, "postgres", "CREATE ROLE app LOGIN PASSWORD "+QuoteLiteral("s3cr'et"), "CREATE DATABASE app OWNER app"); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.DSN("app", "s3cr'et", "app"))
	if err != nil {
		t.Fatalf("the app user cannot log in over TCP: %v", err)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	conn.Close(ctx)
	if _, err := pgx.Connect(ctx, c.DSN("app", "wrong", "app")); err == nil {
		t.Fatal("a wrong password was accepted over TCP")
	}

	// Stopped and started again on the same port, the data is still there.
	port := c.Port
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Start(ctx, port); err != nil {
		t.Fatal(err)
	}
	var n int
	conn2, err := again.AdminConn(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	if err := conn2.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname IN ('app', 'defaultdb')").Scan(&n); err != nil || n != 2 {
		t.Fatalf("databases after restart: %d, %v", n, err)
	}
	conn2.Close(ctx)

	// A server its starter never stopped (that process was killed) is
	// stopped and started again on the port asked for now.
	orphaned, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := orphaned.Start(ctx, 0); err != nil {
		t.Fatalf("starting over a server left running: %v", err)
	}
	if orphaned.Port == port {
		t.Fatalf("still on the old port %d", port)
	}
	conn3, err := orphaned.AdminConn(ctx, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	conn3.Close(ctx)
	// Stopped, it leaves no empty socket folder in the system's
	// temporary directory.
	if err := orphaned.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(orphaned.SocketDir()); !os.IsNotExist(err) {
		t.Errorf("socket folder %s left after a stop: %v", orphaned.SocketDir(), err)
	}
}
