package run

import (
	"errors"
	"testing"

	"github.com/cosocial/cosocial/pkg/cmd/exit"
	"github.com/cosocial/cosocial/pkg/cmd/factory"
	"github.com/cosocial/cosocial/pkg/iostreams"
	"github.com/cosocial/cosocial/pkg/migrate"
)

func TestFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdRun(&factory.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--sandbox", "--yes", "--dump-restore", "--source-ssh", "root@127.0.0.1:2222", "--target-ssh", "debian@10.0.0.5",
		"--known-hosts", "/tmp/kh", "--width", "8"})
	if _, err := cmd.ExecuteC(); err != nil {
		t.Fatal(err)
	}
	if !got.Sandbox || !got.Yes || !got.DumpRestore || got.SourceSSH != "root@127.0.0.1:2222" || got.TargetSSH != "debian@10.0.0.5" ||
		got.KnownHosts != "/tmp/kh" || got.Width != 8 || !got.Verify || got.EnvFile != migrate.Mastodon.EnvFile || got.StopCmd != migrate.Mastodon.Stop {
		t.Fatalf("%+v", got)
	}
	cmd = NewCmdRun(&factory.Factory{IOStreams: ios}, func(o *Options) error { return nil })
	cmd.SetArgs([]string{"--width", "0"})
	cmd.SetErr(ios.ErrOut)
	var fe *exit.FlagError
	if _, err := cmd.ExecuteC(); !errors.As(err, &fe) {
		t.Fatalf("--width 0: %v", err)
	}
}

func TestSSHAddresses(t *testing.T) {
	for in, want := range map[string]sshAddr{
		"203.0.113.5":              {"root", "203.0.113.5", 22},
		"debian@203.0.113.5":       {"debian", "203.0.113.5", 22},
		"debian@203.0.113.5:2222":  {"debian", "203.0.113.5", 2222},
		"[2001:db8::1]:2200":       {"root", "2001:db8::1", 2200},
		"admin@[2001:db8::1]:2200": {"admin", "2001:db8::1", 2200},
	} {
		got, err := parseSSH(in, "root")
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"host:port", "@host", "host:0"} {
		if _, err := parseSSH(bad, "root"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
