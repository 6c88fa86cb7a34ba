package openstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cosocial/cosocial/pkg/provider"
)

type cloudConfig struct {
	WriteFiles []struct {
		Path        string `yaml:"path"`
		Permissions string `yaml:"permissions"`
		Content     string `yaml:"content"`
	} `yaml:"write_files"`
	RunCmd [][]string `yaml:"runcmd"`
}

func render(t *testing.T, spec provider.DatabaseSpec, backup *Backup) (string, map[string]string, map[string]string) {
	t.Helper()
	eng, err := checkSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	passwords := map[string]string{}
	for _, u := range spec.Users {
		passwords[u] = password()
	}
	out, err := renderCloudInit(spec, eng, "0f3c9a7e-5b2d-4c1a-8e6f-0b9d7c5a3e1f", passwords, backup)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "#cloud-config\n") {
		t.Fatalf("user data does not start with #cloud-config:\n%s", out)
	}
	var cc cloudConfig
	if err := yaml.Unmarshal([]byte(out), &cc); err != nil {
		t.Fatalf("user data is not YAML: %v\n%s", err, out)
	}
	files := map[string]string{}
	for _, f := range cc.WriteFiles {
		files[f.Path] = f.Content
		secret := strings.HasPrefix(f.Path, "/etc/cosocial/") || strings.HasPrefix(f.Path, "/usr/local/sbin/")
		if secret && f.Permissions != "0600" && f.Permissions != "0700" {
			t.Errorf("%s is written with mode %s", f.Path, f.Permissions)
		}
	}
	if len(cc.RunCmd) != 1 || strings.Join(cc.RunCmd[0], " ") != "/usr/local/sbin/cosocial-db-setup" {
		t.Errorf("runcmd = %v", cc.RunCmd)
	}
	return out, files, passwords
}

// bashSyntax checks a script with bash -n, where bash is.
func bashSyntax(t *testing.T, name, script string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Logf("SKIP the syntax check of %s: no bash", name)
		return
	}
	p := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.WriteFile(p, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-n", p).CombinedOutput(); err != nil {
		t.Errorf("%s: %v\n%s\n%s", name, err, out, script)
	}
}

func TestPostgresCloudInit(t *testing.T) {
	spec := provider.DatabaseSpec{
		Name: "main", Engine: "postgresql", Version: "16", Flavor: "v3-standard-4", DiskGB: 100,
		Databases: []string{"mastodon", "castopod"}, Users: []string{"mastodon", "reader"},
		AllowedIPs: []string{"203.0.113.10", "198.51.100.0/24", "2001:db8:ca:1::/64"},
	}
	backup := &Backup{Endpoint: "https://s3.ca-ymq-1.vexxhost.net", Bucket: "cosocial-backups", Prefix: "db/main/",
		Credentials: provider.S3Credentials{AccessKey: "AKIAEXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}}
	out, files, passwords := render(t, spec, backup)

	setup := files["/usr/local/sbin/cosocial-db-setup"]
	bashSyntax(t, "cosocial-db-setup", setup)
	bashSyntax(t, "cosocial-db-backup", files["/usr/local/sbin/cosocial-db-backup"])
	for _, want := range []string{
		"serial='0f3c9a7e-5b2d-4c1a-8'",                        // the data volume, found by its serial
		"mkfs.ext4 -q -L dbdata",                               // formatted ...
		`if ! blkid "$dev"`,                                    // ... only when blank
		"LABEL=dbdata /var/lib/postgresql ext4",                // mounted where PostgreSQL keeps its data
		"apt.postgresql.org",                                   // 16 is not Debian 12's
		"apt-get install -y -q postgresql-16 rclone",           //
		"listen_addresses = 'localhost,$addr'",                 // its own address only
		"echo 'hostssl all all 203.0.113.10/32 scram-sha-256'", // the co-op's servers only
		"echo 'hostssl all all 198.51.100.0/24 scram-sha-256'",
		"echo 'hostssl all all 2001:db8:ca:1::/64 scram-sha-256'",
		"psql -v ON_ERROR_STOP=1 -q -f - </etc/cosocial/db/init.sql", // passwords through stdin
		"shred -u /etc/cosocial/db/init.sql",
		"systemctl enable --now cosocial-db-backup.timer",
	} {
		if !strings.Contains(setup, want) {
			t.Errorf("the setup script lacks %q", want)
		}
	}
	sql := files["/etc/cosocial/db/init.sql"]
	for _, want := range []string{
		`CREATE ROLE "mastodon" LOGIN PASSWORD '` + passwords["mastodon"] + `';`,
		`CREATE DATABASE "castopod" OWNER "mastodon";`,
		`GRANT ALL PRIVILEGES ON DATABASE "mastodon" TO "reader";`,
		`GRANT ALL ON SCHEMA public TO "reader";`,
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("init.sql lacks %q:\n%s", want, sql)
		}
	}
	// Each secret is in its own root-only file, and nowhere else.
	for what, secret := range map[string]string{"password": passwords["mastodon"], "backup secret": backup.Credentials.SecretKey} {
		if n := strings.Count(out, secret); n != 1 {
			t.Errorf("the %s appears %d times in the user data", what, n)
		}
	}
	if env := files["/etc/cosocial/db/backup.env"]; !strings.Contains(env, "RCLONE_CONFIG_BACKUP_SECRET_ACCESS_KEY="+backup.Credentials.SecretKey) {
		t.Errorf("backup.env = %q", env)
	}
	dump := files["/usr/local/sbin/cosocial-db-backup"]
	if !strings.Contains(dump, `for db in 'mastodon' 'castopod'; do`) || !strings.Contains(dump, `pg_dump --format=custom "$db" | rclone rcat "backup:"'cosocial-backups'/'db/main/'"$db/$stamp.dump"`) {
		t.Errorf("backup script:\n%s", dump)
	}
	if !strings.Contains(files["/etc/udev/rules.d/90-cosocial-db-grow.rules"], `ENV{ID_FS_LABEL}=="dbdata"`) ||
		!strings.Contains(files["/etc/systemd/system/cosocial-db-grow.service"], "ExecStart=/usr/sbin/resize2fs /dev/disk/by-label/dbdata") {
		t.Error("no filesystem grow on a volume extend")
	}
}

func TestPostgres15AndNoBackup(t *testing.T) {
	_, files, _ := render(t, provider.DatabaseSpec{Name: "main", Engine: "postgresql", Version: "15", Flavor: "f", DiskGB: 10, Databases: []string{"mastodon"}, Users: []string{"mastodon"}, AllowedIPs: []string{"203.0.113.10"}}, nil)
	setup := files["/usr/local/sbin/cosocial-db-setup"]
	bashSyntax(t, "cosocial-db-setup", setup)
	if strings.Contains(setup, "apt.postgresql.org") || strings.Contains(setup, "backup") {
		t.Errorf("PostgreSQL 15 without a backup:\n%s", setup)
	}
	if _, ok := files["/etc/cosocial/db/backup.env"]; ok {
		t.Error("backup keys written without a backup")
	}
}

func TestMariaDBCloudInit(t *testing.T) {
	spec := provider.DatabaseSpec{Name: "podcasts", Engine: "mysql", Version: "8", Flavor: "f", DiskGB: 20,
		Databases: []string{"castopod"}, Users: []string{"castopod"}, AllowedIPs: []string{"203.0.113.10", "198.51.100.0/24"}}
	_, files, passwords := render(t, spec, &Backup{Endpoint: "http://127.0.0.1:9000", Bucket: "b", Credentials: provider.S3Credentials{AccessKey: "a", SecretKey: "s"}})
	setup := files["/usr/local/sbin/cosocial-db-setup"]
	bashSyntax(t, "cosocial-db-setup", setup)
	bashSyntax(t, "cosocial-db-backup", files["/usr/local/sbin/cosocial-db-backup"])
	for _, want := range []string{"LABEL=dbdata /var/lib/mysql ext4", "apt-get install -y -q mariadb-server rclone", "bind-address = $addr", "mariadb </etc/cosocial/db/init.sql"} {
		if !strings.Contains(setup, want) {
			t.Errorf("the setup script lacks %q", want)
		}
	}
	sql := files["/etc/cosocial/db/init.sql"]
	for _, want := range []string{
		"CREATE USER IF NOT EXISTS 'castopod'@'203.0.113.10' IDENTIFIED BY '" + passwords["castopod"] + "';",
		"GRANT ALL PRIVILEGES ON `castopod`.* TO 'castopod'@'198.51.100.0/255.255.255.0';",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("init.sql lacks %q:\n%s", want, sql)
		}
	}
	spec.AllowedIPs = []string{"2001:db8::/64"}
	eng, _ := engineOf("mysql")
	if _, err := renderCloudInit(spec, eng, "v", nil, nil); err == nil {
		t.Error("an IPv6 block was given to MariaDB")
	}
}

func TestDatabaseSpecsRefused(t *testing.T) {
	good := provider.DatabaseSpec{Name: "main", Engine: "postgresql", Version: "16", Flavor: "f", DiskGB: 10, Databases: []string{"mastodon"}, Users: []string{"mastodon"}}
	for what, mod := range map[string]func(*provider.DatabaseSpec){
		"two nodes":        func(s *provider.DatabaseSpec) { s.Nodes = 2 },
		"no disk":          func(s *provider.DatabaseSpec) { s.DiskGB = 0 },
		"unknown engine":   func(s *provider.DatabaseSpec) { s.Engine = "redis" },
		"a quoted name":    func(s *provider.DatabaseSpec) { s.Databases = []string{`x"; DROP`} },
		"an old postgres":  func(s *provider.DatabaseSpec) { s.Version = "9.6" },
		"mariadb 11":       func(s *provider.DatabaseSpec) { s.Engine, s.Version = "mariadb", "11.4" },
		"a backup newline": nil,
	} {
		spec := good
		var backup *Backup
		if mod != nil {
			mod(&spec)
		} else {
			backup = &Backup{Endpoint: "https://s3.example", Bucket: "b", Credentials: provider.S3Credentials{AccessKey: "a", SecretKey: "s\nExecStart=/bin/sh"}}
		}
		eng, err := checkSpec(spec)
		if err == nil {
			_, err = renderCloudInit(spec, eng, "vol", map[string]string{"mastodon": "pw"}, backup)
		}
		if err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

// TestDatabaseServerTakesTheCoopsKeys: the volunteers' keys reach the
// database server's default user, each one whole, whatever it holds.
func TestDatabaseServerTakesTheCoopsKeys(t *testing.T) {
	spec := provider.DatabaseSpec{Name: "main", Engine: "postgresql", Version: "15", Flavor: "v3-standard-2", DiskGB: 40, Databases: []string{"mastodon"}, Users: []string{"mastodon"},
		AllowedIPs: []string{"203.0.113.10/32"},
		SSHKeys:    []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA ops@cosocial.ca", `ssh-rsa AAAAB3Nza "quoted: #not a comment" x`}}
	out, _, _ := render(t, spec, nil)
	var cc struct {
		Keys []string `yaml:"ssh_authorized_keys"`
	}
	if err := yaml.Unmarshal([]byte(out), &cc); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cc.Keys, "\n") != strings.Join(spec.SSHKeys, "\n") {
		t.Errorf("ssh_authorized_keys = %q, want %q", cc.Keys, spec.SSHKeys)
	}
	spec.SSHKeys = nil
	if out, _, _ := render(t, spec, nil); strings.Contains(out, "ssh_authorized_keys") {
		t.Error("an empty ssh_authorized_keys is written")
	}
}
