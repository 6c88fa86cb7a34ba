package app

import (
	"net/url"

	"github.com/cosocial/cosocial/pkg/objectstore"
)

// Spec is what a service block and the stack's outputs say about one
// deployment. Passwords and keys in it are secrets: never print a Spec.
type Spec struct {
	App       string // mastodon, castopod…
	Name      string // the block's second label
	Version   string // the project's release, 4.3.2
	Domain    string
	MediaHost string // optional: the name media is served under
	Database  Database
	Media     *Bucket // optional: media in object storage
	SMTP      *SMTP   // optional: mail for sign-ups and notifications
	// InternalTLS has Caddy issue certificates from its own CA (the
	// sandbox); otherwise from Let's Encrypt, with ACMEEmail as contact.
	InternalTLS bool
	ACMEEmail   string
	// Address is the server's own address on a host several servers
	// share (the sandbox plays each on an address of the loopback):
	// every process, Caddy included, listens there. Empty on a server of
	// its own: the app and Redis on 127.0.0.1, Caddy on every address.
	// ServerAddress asks the server.
	Address string
}

// Database is where the app's data lives.
type Database struct {
	Engine         string // postgresql or mysql
	Host           string
	Port           int
	Name           string
	User, Password string
	// SSLMode is PostgreSQL's sslmode (require for a managed database).
	SSLMode string
}

// Bucket is the object storage for the app's media.
type Bucket struct {
	Endpoint             string // https://s3.bhs.io.cloud.ovh.net
	Name                 string
	AccessKey, SecretKey string
}

// region is what the app signs its S3 requests for: OVHcloud and
// DigitalOcean refuse any other than their host's.
func (b *Bucket) region() string {
	u, err := url.Parse(b.Endpoint)
	if err != nil {
		return objectstore.SigningRegion("")
	}
	return objectstore.SigningRegion(u.Hostname())
}

// SMTP is the mail relay the app sends through.
type SMTP struct {
	Host           string
	Port           int
	User, Password string
	From           string
}
