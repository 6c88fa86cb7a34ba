// Package templates embeds the files the tool writes for a co-op: the
// starter description, and (for the stand-up) the cloud-init, compose and
// proxy files of each application.
package templates

import "embed"

// FS holds every template, by path under templates/.
//
//go:embed description cloud-init apps
var FS embed.FS
