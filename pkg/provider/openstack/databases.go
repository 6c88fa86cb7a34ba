package openstack

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"

	"github.com/cosocial/cosocial/pkg/provider"
)

// OpenStack public clouds like VEXXHOST's have no managed database service
// (the catalog marks their offers SelfManaged). A database here is a
// dedicated server running the engine from Debian's packages, its data on a
// Cinder volume of DiskGB that outlives the server's own disk and grows in
// place, set up by cloud-init this file writes (templates/). The Database's
// ID is the server's.
//
// The status is READY once the server is ACTIVE: whether the engine itself
// has come up (cloud-init is still installing it for a minute or two) is
// the tool's to check later, by connecting, as it does for any database.

//go:embed templates/database.cloud-init.tmpl
var cloudInitTemplate string

var cloudInit = template.Must(template.New("database").Funcs(template.FuncMap{
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
	},
	"sh": shellQuote,
	// A JSON string is a YAML scalar that nothing in it can break out of.
	"yaml": func(s string) string { b, _ := json.Marshal(s); return string(b) },
}).Parse(cloudInitTemplate))

// DatabaseOptions are what a self-managed database needs beyond its spec.
type DatabaseOptions struct {
	// Image is the server's image; empty is "Debian 12", whose packages
	// the template installs.
	Image string
	// SSHKeys reach the server's default user; the first becomes its
	// keypair.
	SSHKeys []string
	// Backup, when set, is where a nightly dump goes.
	Backup *Backup
}

// Backup is the bucket the nightly dumps go to and the S3 keys that reach
// it. The keys are written into the server's user data, in a root-only
// file.
type Backup struct {
	Endpoint    string // the S3 endpoint, e.g. the bucket's
	Bucket      string
	Prefix      string // before "<database>/<time>.dump"; e.g. "db/main/"
	Credentials provider.S3Credentials
	// Schedule is a systemd OnCalendar expression; empty is 03:17 UTC.
	Schedule string
}

// Server metadata that describes a database server: Nova keeps up to 128
// items of 255 characters, which is where the spec is remembered.
const (
	metaRole      = "cosocial_role"
	metaEngine    = "cosocial_engine"
	metaVersion   = "cosocial_version"
	metaVolume    = "cosocial_volume"
	metaDatabases = "cosocial_databases"
	metaUsers     = "cosocial_users"
	metaAllowed   = "cosocial_allowed"
	metaBackup    = "cosocial_backup"
	roleDatabase  = "database"
	dataLabel     = "dbdata"
)

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// engine is how one engine is run.
type engine struct {
	name     string // for people
	service  string // systemd unit
	port     int
	mount    string
	packages func(version string) (string, bool, error) // packages, and whether PGDG's repository is needed
}

func engineOf(name string) (*engine, error) {
	switch name {
	case "postgresql":
		return &engine{name: "PostgreSQL", service: "postgresql", port: 5432, mount: "/var/lib/postgresql",
			packages: func(v string) (string, bool, error) {
				n, err := strconv.Atoi(v)
				if err != nil || n < 13 {
					return "", false, fmt.Errorf("openstack: PostgreSQL version %q: cosocial installs 13 and later", v)
				}
				return "postgresql-" + v + " rclone", v != "15", nil
			}}, nil
	case "mysql", "mariadb":
		// MySQL is served by MariaDB, Debian's MySQL-compatible server.
		return &engine{name: "MariaDB", service: "mariadb", port: 3306, mount: "/var/lib/mysql",
			packages: func(v string) (string, bool, error) {
				if name == "mariadb" && v != "" && v != "10.11" {
					return "", false, fmt.Errorf("openstack: MariaDB %s: cosocial installs Debian 12's MariaDB 10.11", v)
				}
				return "mariadb-server rclone", false, nil
			}}, nil
	}
	return nil, fmt.Errorf("openstack: engine %q: self-managed databases run postgresql, mysql or mariadb", name)
}

// cloudInitData is what the template is filled with.
type cloudInitData struct {
	Name, Engine, EngineName, Service, Version string
	VolumeSerial, Label, MountPoint, Packages  string
	PGDG                                       bool
	Port                                       int
	Allowed, Databases                         []string
	SQL                                        string
	Backup                                     *backupData
	SSHKeys                                    []string
}

type backupData struct {
	Endpoint, Bucket, Prefix, AccessKey, SecretKey, Schedule string
}

// renderCloudInit writes the user data of a database server.
func renderCloudInit(spec provider.DatabaseSpec, eng *engine, volumeID string, passwords map[string]string, backup *Backup) (string, error) {
	pkgs, pgdg, err := eng.packages(spec.Version)
	if err != nil {
		return "", err
	}
	d := cloudInitData{
		Name: spec.Name, Engine: spec.Engine, EngineName: eng.name, Service: eng.service, Version: spec.Version,
		VolumeSerial: volumeID[:min(20, len(volumeID))], Label: dataLabel, MountPoint: eng.mount, Packages: pkgs, PGDG: pgdg,
		Port: eng.port, Databases: spec.Databases, SSHKeys: spec.SSHKeys,
	}
	if d.Engine == "mysql" {
		d.Engine = "mariadb"
	}
	for _, a := range spec.AllowedIPs {
		p, err := prefixOf(a)
		if err != nil {
			return "", err
		}
		d.Allowed = append(d.Allowed, p.String())
	}
	if d.Engine == "postgresql" {
		d.SQL = postgresSQL(spec, passwords)
	} else if d.SQL, err = mariadbSQL(spec, d.Allowed, passwords); err != nil {
		return "", err
	}
	if backup != nil {
		b := &backupData{Endpoint: backup.Endpoint, Bucket: backup.Bucket, Prefix: backup.Prefix,
			AccessKey: backup.Credentials.AccessKey, SecretKey: backup.Credentials.SecretKey, Schedule: backup.Schedule}
		if b.Schedule == "" {
			b.Schedule = "*-*-* 03:17:00 UTC"
		}
		if u, err := url.Parse(b.Endpoint); err != nil || u.Host == "" {
			return "", fmt.Errorf("openstack: backup endpoint %q is not a URL", b.Endpoint)
		}
		// Everything here lands in an environment file or a unit: one
		// line each, nothing a shell or systemd would read twice.
		for what, v := range map[string]string{"endpoint": b.Endpoint, "bucket": b.Bucket, "prefix": b.Prefix, "access key": b.AccessKey, "secret key": b.SecretKey, "schedule": b.Schedule} {
			if strings.ContainsAny(v, "\n\r\"'`$\\") || what != "prefix" && what != "schedule" && strings.ContainsAny(v, " \t") {
				return "", fmt.Errorf("openstack: the backup %s holds characters cosocial will not write into a server's files", what)
			}
		}
		d.Backup = b
	}
	var out strings.Builder
	if err := cloudInit.Execute(&out, d); err != nil {
		return "", err
	}
	return out.String(), nil
}

// prefixOf reads an address or a CIDR block.
func prefixOf(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("openstack: allowed address %q is neither an address nor a CIDR block", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }
func sqlLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
func sqlIdent(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func postgresSQL(spec provider.DatabaseSpec, passwords map[string]string) string {
	var b strings.Builder
	for _, u := range spec.Users {
		fmt.Fprintf(&b, "CREATE ROLE %s LOGIN PASSWORD %s;\n", sqlIdent(u), sqlLiteral(passwords[u]))
	}
	for _, db := range spec.Databases {
		if len(spec.Users) > 0 {
			fmt.Fprintf(&b, "CREATE DATABASE %s OWNER %s;\n", sqlIdent(db), sqlIdent(spec.Users[0]))
		} else {
			fmt.Fprintf(&b, "CREATE DATABASE %s;\n", sqlIdent(db))
		}
		for _, u := range spec.Users {
			fmt.Fprintf(&b, "GRANT ALL PRIVILEGES ON DATABASE %s TO %s;\n", sqlIdent(db), sqlIdent(u))
		}
		if len(spec.Users) > 1 {
			// Since PostgreSQL 15 only the owner may create in public.
			fmt.Fprintf(&b, "\\connect %s\n", sqlIdent(db))
			for _, u := range spec.Users[1:] {
				fmt.Fprintf(&b, "GRANT ALL ON SCHEMA public TO %s;\n", sqlIdent(u))
			}
		}
	}
	return b.String()
}

// mariadbSQL makes each user once per allowed block: MariaDB ties an
// account to the hosts it may come from, in its own ip/netmask form.
func mariadbSQL(spec provider.DatabaseSpec, allowed []string, passwords map[string]string) (string, error) {
	var hosts []string
	for _, a := range allowed {
		p := netip.MustParsePrefix(a)
		switch {
		case p.IsSingleIP():
			hosts = append(hosts, p.Addr().String())
		case p.Addr().Is4():
			hosts = append(hosts, p.Addr().String()+"/"+net.IP(net.CIDRMask(p.Bits(), 32)).String())
		default:
			return "", fmt.Errorf("openstack: MariaDB takes single IPv6 addresses, not the block %s", a)
		}
	}
	var b strings.Builder
	for _, db := range spec.Databases {
		fmt.Fprintf(&b, "CREATE DATABASE IF NOT EXISTS `%s`;\n", db)
	}
	for _, u := range spec.Users {
		for _, h := range hosts {
			fmt.Fprintf(&b, "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s;\n", sqlLiteral(u), sqlLiteral(h), sqlLiteral(passwords[u]))
			for _, db := range spec.Databases {
				fmt.Fprintf(&b, "GRANT ALL PRIVILEGES ON `%s`.* TO %s@%s;\n", db, sqlLiteral(u), sqlLiteral(h))
			}
		}
	}
	return b.String(), nil
}

func password() string {
	b := make([]byte, 18)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// checkSpec refuses what a self-managed database cannot be.
func checkSpec(spec provider.DatabaseSpec) (*engine, error) {
	eng, err := engineOf(spec.Engine)
	if err != nil {
		return nil, err
	}
	switch {
	case spec.Nodes > 1:
		return nil, fmt.Errorf("openstack: database %s: a self-managed database runs on one server, not %d", spec.Name, spec.Nodes)
	case spec.DiskGB <= 0:
		return nil, fmt.Errorf("openstack: database %s: a data volume size (disk_gb) is required", spec.Name)
	case spec.Flavor == "":
		return nil, fmt.Errorf("openstack: database %s: a flavor is required", spec.Name)
	}
	for _, n := range append(slices.Clone(spec.Databases), spec.Users...) {
		if !identifier.MatchString(n) {
			return nil, fmt.Errorf("openstack: database %s: %q is not a plain name (lower-case letters, digits and _)", spec.Name, n)
		}
	}
	return eng, nil
}

func (c *Cloud) dbGroupName(name string) string { return "cosocial-db-" + name }

// dbIngress is SSH from anywhere (the co-op's volunteers) and the engine's
// port from the allowed addresses only.
func dbIngress(port int, allowed []string) ([]ingress, error) {
	out := anywhere(22)
	for _, a := range allowed {
		p, err := prefixOf(a)
		if err != nil {
			return nil, err
		}
		ether := rules.EtherType4
		if p.Addr().Is6() {
			ether = rules.EtherType6
		}
		out = append(out, ingress{ether, port, p.String()})
	}
	return out, nil
}

// CreateDatabase runs a database on a server of its own, with the options
// of Config.Database.
func (c *Cloud) CreateDatabase(ctx context.Context, spec provider.DatabaseSpec) (*provider.Database, map[string]string, error) {
	return c.CreateDatabaseWith(ctx, spec, c.cfg.Database)
}

// CreateDatabaseWith makes the data volume, the security group and the
// server whose cloud-init installs the engine on that volume, waits until
// the server is ACTIVE, and returns each user's generated password.
func (c *Cloud) CreateDatabaseWith(ctx context.Context, spec provider.DatabaseSpec, opts DatabaseOptions) (*provider.Database, map[string]string, error) {
	eng, err := checkSpec(spec)
	if err != nil {
		return nil, nil, err
	}
	if spec.Region != "" && spec.Region != c.eo.Region {
		return nil, nil, fmt.Errorf("openstack: database %s is for %s, but this provider works in %s", spec.Name, spec.Region, c.eo.Region)
	}
	meta := map[string]string{
		metaRole: roleDatabase, metaEngine: spec.Engine, metaVersion: spec.Version,
		metaDatabases: strings.Join(spec.Databases, ","), metaUsers: strings.Join(spec.Users, ","), metaAllowed: strings.Join(spec.AllowedIPs, ","),
	}
	for k, v := range meta {
		if len(v) > 255 {
			return nil, nil, fmt.Errorf("openstack: database %s: %s is longer than the 255 characters Nova keeps in metadata", spec.Name, strings.TrimPrefix(k, "cosocial_"))
		}
	}
	ingress, err := dbIngress(eng.port, spec.AllowedIPs)
	if err != nil {
		return nil, nil, err
	}
	passwords := map[string]string{}
	for _, u := range spec.Users {
		passwords[u] = password()
	}
	s, err := c.login(ctx)
	if err != nil {
		return nil, nil, err
	}
	backup := opts.Backup
	if backup == nil {
		if backup, err = c.backupFor(ctx, s, spec.Name); err != nil {
			return nil, nil, err
		}
	}
	if backup != nil {
		meta[metaBackup] = backup.Bucket
	}
	group := c.dbGroupName(spec.Name)
	if _, err := c.securityGroup(ctx, s, group, "cosocial: SSH, and "+eng.name+" from the co-op's servers", ingress); err != nil {
		return nil, nil, err
	}
	vol, err := c.createVolume(ctx, s, spec.Name+"-data", spec.DiskGB)
	if err != nil {
		return nil, nil, err
	}
	userData, err := renderCloudInit(spec, eng, vol.ID, passwords, backup)
	if err != nil {
		return nil, nil, errors.Join(err, c.deleteVolume(ctx, s, vol.ID))
	}
	meta[metaVolume] = vol.ID
	image := opts.Image
	if image == "" {
		image = "Debian 12"
	}
	b := bootSpec{group: group, meta: meta, extra: []servers.BlockDevice{{
		SourceType: servers.SourceVolume, DestinationType: servers.DestinationVolume, UUID: vol.ID,
		BootIndex: -1, DeleteOnTermination: false,
	}}}
	keys := opts.SSHKeys
	if len(keys) == 0 {
		keys = spec.SSHKeys
	}
	if len(keys) > 0 {
		if err := c.keypair(ctx, s, spec.Name, keys[0]); err != nil {
			return nil, nil, errors.Join(err, c.deleteVolume(ctx, s, vol.ID))
		}
		b.keyName = spec.Name
	}
	sv, err := c.boot(ctx, s, provider.ServerSpec{Name: spec.Name, Flavor: spec.Flavor, Image: image, UserData: userData}, b)
	if err != nil {
		// A volume no server took holds nothing yet; one that a failed
		// server still holds (Cinder refuses: in use) is left for the
		// delete that follows.
		if derr := c.deleteVolume(ctx, s, vol.ID); derr != nil && !isInUse(derr) {
			err = errors.Join(err, derr)
		}
		return nil, nil, err
	}
	db, err := c.Database(ctx, sv.ID)
	return db, passwords, err
}

// isInUse reports Cinder's refusal to delete an attached volume.
func isInUse(err error) bool {
	var api *provider.APIError
	return errors.As(err, &api) && api.Status == 400
}

func (c *Cloud) createVolume(ctx context.Context, s *session, name string, gb int) (*volumes.Volume, error) {
	// As with servers: a token in the metadata finds a volume whose
	// create was answered with a 5xx but happened.
	token := password()
	var v *volumes.Volume
	err := c.cfg.Backoff.Do(ctx, func() error {
		var all []volumes.Volume
		err := c.do(ctx, "Cinder", false, func() error {
			page, err := volumes.List(s.volume, volumes.ListOpts{Name: name}).AllPages(ctx)
			if err != nil {
				return err
			}
			all, err = volumes.ExtractVolumes(page)
			return err
		})
		if err != nil {
			return err
		}
		for i := range all {
			if all[i].Metadata[requestKey] == token {
				v = &all[i]
				return nil
			}
		}
		v, err = volumes.Create(ctx, s.volume, volumes.CreateOpts{Name: name, Size: gb, Description: "cosocial: database data", Metadata: map[string]string{requestKey: token}}, nil).Extract()
		return translate(err, "Cinder")
	})
	if err != nil {
		return nil, err
	}
	return c.waitVolume(ctx, s, v.ID, name, func(v *volumes.Volume) bool { return v.Status == "available" })
}

func (c *Cloud) getVolume(ctx context.Context, s *session, id string) (*volumes.Volume, error) {
	var v *volumes.Volume
	err := c.do(ctx, "Cinder", false, func() error {
		var err error
		v, err = volumes.Get(ctx, s.volume, id).Extract()
		return err
	})
	return v, err
}

func (c *Cloud) waitVolume(ctx context.Context, s *session, id, name string, done func(*volumes.Volume) bool) (*volumes.Volume, error) {
	return wait(ctx, c, "volume "+name, c.cfg.Timeouts.Volume,
		func(ctx context.Context) (*volumes.Volume, error) { return c.getVolume(ctx, s, id) },
		func(v *volumes.Volume) string { return v.Status },
		func(v *volumes.Volume) (bool, error) {
			if strings.HasPrefix(v.Status, "error") {
				return false, fmt.Errorf("OpenStack reports volume %s as %s", name, v.Status)
			}
			return done(v), nil
		})
}

// deleteVolume deletes a volume once it is free and waits until it is gone.
func (c *Cloud) deleteVolume(ctx context.Context, s *session, id string) error {
	v, err := c.getVolume(ctx, s, id)
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// A volume on its way to available (detaching after its server went)
	// is waited for; one in use is refused by Cinder in its own words.
	if v.Status != "available" && v.Status != "error" && v.Status != "in-use" {
		if _, err := c.waitVolume(ctx, s, id, v.Name, func(v *volumes.Volume) bool { return v.Status == "available" }); err != nil {
			return err
		}
	}
	err = c.do(ctx, "Cinder", false, func() error { return volumes.Delete(ctx, s.volume, id, nil).ExtractErr() })
	if errors.Is(err, provider.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return gone(ctx, c, "volume "+v.Name, func(ctx context.Context) error { _, err := c.getVolume(ctx, s, id); return err })
}

// Database reads a database server and its data volume.
func (c *Cloud) Database(ctx context.Context, id string) (*provider.Database, error) {
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
	sv, err := c.getServer(ctx, s, id)
	if err != nil {
		return nil, err
	}
	return c.database(ctx, s, sv)
}

func (c *Cloud) database(ctx context.Context, s *session, sv *servers.Server) (*provider.Database, error) {
	m := sv.Metadata
	if m[metaRole] != roleDatabase {
		return nil, fmt.Errorf("openstack: server %s (%s) is not a cosocial database server", sv.Name, sv.ID)
	}
	eng, err := engineOf(m[metaEngine])
	if err != nil {
		return nil, err
	}
	server := c.server(sv)
	db := &provider.Database{
		ID: sv.ID, Name: sv.Name, Region: c.eo.Region, Engine: m[metaEngine], Version: m[metaVersion],
		Flavor: server.Flavor, Nodes: 1, Status: sv.Status, Host: server.IPv4, Port: eng.port,
		Databases: split(m[metaDatabases]), Users: split(m[metaUsers]), AllowedIPs: split(m[metaAllowed]),
		Backup: m[metaBackup],
	}
	if db.Host == "" {
		db.Host = server.IPv6
	}
	if db.Engine == "postgresql" {
		db.SSLMode = "require"
	}
	if sv.Status == "ACTIVE" {
		db.Status = "READY"
	}
	if vid := m[metaVolume]; vid != "" {
		v, err := c.getVolume(ctx, s, vid)
		if err != nil && !errors.Is(err, provider.ErrNotFound) {
			return nil, err
		}
		if v != nil {
			db.DiskGB = v.Size
		}
	}
	return db, nil
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// UpdateDatabase changes what can change in place: a larger data volume
// (Cinder's os-extend while in use; the server grows its filesystem on the
// block device's change event, see the template) and another flavor
// (Nova's resize, which keeps the volumes). The server is never replaced
// for either. Engine, version, databases, users and allowed addresses are
// written by cloud-init at first boot and are not changed here.
func (c *Cloud) UpdateDatabase(ctx context.Context, id string, old, spec provider.DatabaseSpec) (*provider.Database, map[string]string, error) {
	if _, err := checkSpec(spec); err != nil {
		return nil, nil, err
	}
	var fixed []string
	if spec.Engine != old.Engine || spec.Version != old.Version {
		fixed = append(fixed, "engine and version (dump and restore into a new database)")
	}
	if !slices.Equal(spec.Databases, old.Databases) || !slices.Equal(spec.Users, old.Users) {
		fixed = append(fixed, "databases and users (create them on the server)")
	}
	if !slices.Equal(spec.AllowedIPs, old.AllowedIPs) {
		fixed = append(fixed, "allowed addresses (pg_hba.conf or MariaDB accounts on the server, and the security group)")
	}
	if len(fixed) > 0 {
		return nil, nil, fmt.Errorf("openstack: database %s is self-managed: its %s cannot change through the cloud's API", spec.Name, strings.Join(fixed, "; "))
	}
	if spec.DiskGB < old.DiskGB {
		return nil, nil, fmt.Errorf("openstack: database %s: a volume only grows (%d GB asked, %d GB now)", spec.Name, spec.DiskGB, old.DiskGB)
	}
	s, err := c.login(ctx)
	if err != nil {
		return nil, nil, err
	}
	sv, err := c.getServer(ctx, s, id)
	if err != nil {
		return nil, nil, err
	}
	if spec.DiskGB > old.DiskGB {
		if err := c.extend(ctx, s, sv.Metadata[metaVolume], spec.DiskGB); err != nil {
			return nil, nil, err
		}
	}
	if spec.Flavor != old.Flavor {
		if _, err := c.ResizeServer(ctx, id, spec.Flavor); err != nil {
			return nil, nil, err
		}
	}
	db, err := c.Database(ctx, id)
	return db, map[string]string{}, err
}

// extend grows an attached volume in place (microversion 3.42) and waits
// until Cinder reports the new size.
func (c *Cloud) extend(ctx context.Context, s *session, volumeID string, gb int) error {
	if volumeID == "" {
		return errors.New("openstack: the database server does not name its data volume")
	}
	v, err := c.getVolume(ctx, s, volumeID)
	if err != nil {
		return err
	}
	if v.Size >= gb {
		return nil
	}
	provider.Report(ctx, "volume %s: extending from %d to %d GB in place", v.Name, v.Size, gb)
	if err := c.do(ctx, "Cinder", false, func() error {
		return volumes.ExtendSize(ctx, s.volume, volumeID, volumes.ExtendSizeOpts{NewSize: gb}).ExtractErr()
	}); err != nil {
		return err
	}
	_, err = c.waitVolume(ctx, s, volumeID, v.Name, func(v *volumes.Volume) bool {
		return v.Size >= gb && (v.Status == "in-use" || v.Status == "available")
	})
	return err
}

// DeleteDatabase deletes the server, then its data volume — the data goes
// with it, so the stack protects this resource — its keypair and its
// security group. A database already gone is not an error.
func (c *Cloud) DeleteDatabase(ctx context.Context, id string) error {
	isDatabase := func(sv *servers.Server) error {
		if sv.Metadata[metaRole] != roleDatabase {
			return fmt.Errorf("openstack: server %s (%s) is not a cosocial database server", sv.Name, sv.ID)
		}
		return nil
	}
	return c.deleteWith(ctx, id, isDatabase, func(s *session, sv *servers.Server) error {
		if vid := sv.Metadata[metaVolume]; vid != "" {
			if err := c.deleteVolume(ctx, s, vid); err != nil {
				return err
			}
		}
		return c.deleteGroup(ctx, s, c.dbGroupName(sv.Name))
	})
}

func (c *Cloud) deleteGroup(ctx context.Context, s *session, name string) error {
	var found []groups.SecGroup
	err := c.do(ctx, "Neutron", false, func() error {
		page, err := groups.List(s.network, groups.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			return err
		}
		found, err = groups.ExtractGroups(page)
		return err
	})
	if err != nil {
		return err
	}
	for _, g := range found {
		err := c.do(ctx, "Neutron", false, func() error { return groups.Delete(ctx, s.network, g.ID).ExtractErr() })
		if err != nil && !errors.Is(err, provider.ErrNotFound) {
			return err
		}
	}
	return nil
}

// backupFor makes, or finds again, the private, versioned bucket
// "<name>-backups" that a self-managed database's nightly dumps go to,
// with an EC2 credential that reaches it. Nothing deletes it with the
// database: the dumps are what is left after a mistake. A database made
// again under the same name finds it, and a credential of the project
// that reaches it. A cloud without object storage gets no dumps, and is
// told so.
func (c *Cloud) backupFor(ctx context.Context, s *session, name string) (*Backup, error) {
	endpoint, err := c.s3Endpoint(s)
	if err != nil {
		provider.Report(ctx, "database %s: no nightly dumps: %v", name, err)
		return nil, nil
	}
	bucket := name + "-backups"
	known, err := c.ec2List(ctx, s)
	if err != nil {
		return nil, err
	}
	access := make([]string, 0, len(known))
	for a := range known {
		access = append(access, a)
	}
	sort.Strings(access)
	for _, a := range access {
		creds := provider.S3Credentials{AccessKey: a, SecretKey: known[a].Secret}
		mc, err := c.s3Client(endpoint, creds)
		if err != nil {
			return nil, err
		}
		if ok, err := mc.BucketExists(ctx, bucket); err == nil && ok {
			return &Backup{Endpoint: endpoint, Bucket: bucket, Credentials: creds}, nil
		}
	}
	creds, err := c.ec2Credential(ctx, s)
	if err != nil {
		return nil, err
	}
	if _, err := c.makeBucket(ctx, endpoint, creds, provider.BucketSpec{Name: bucket, Versioned: true}); err != nil {
		if derr := c.deleteEC2(ctx, s, creds.AccessKey); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, fmt.Errorf("database %s: the bucket for its nightly dumps: %w", name, err)
	}
	return &Backup{Endpoint: endpoint, Bucket: bucket, Credentials: creds}, nil
}
