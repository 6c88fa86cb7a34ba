package openstack

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"text/template"

	"github.com/cosocial/cosocial/pkg/provider"
)

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
