// Package all links every provider kind into a program, as rclone's
// backend/all does: importing it runs each kind's registration. The
// commands import it once; a test that needs the kinds imports it too.
package all

import (
	// Each registers its kind with pkg/provider/providers.
	_ "github.com/cosocial/cosocial/pkg/provider/digitalocean"
	_ "github.com/cosocial/cosocial/pkg/provider/openstack"
	_ "github.com/cosocial/cosocial/pkg/provider/ovh"
)
