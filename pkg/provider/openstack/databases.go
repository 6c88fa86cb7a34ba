package openstack

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

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
