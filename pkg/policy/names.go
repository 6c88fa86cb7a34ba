package policy

import (
	"fmt"
	"net/netip"
	"strings"
)

// bucketNameProblem says why S3 would refuse name as a bucket's name, or
// "". The rules are S3's own for new buckets, which Ceph RGW (OpenStack
// clouds), OVHcloud and DigitalOcean Spaces enforce as well: a bucket's
// name becomes a DNS label in virtual-hosted URLs.
func bucketNameProblem(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return fmt.Sprintf("it is %d characters long, and S3 takes 3 to 63", len(name))
	case strings.Contains(name, ".."):
		return "it has two dots in a row"
	case strings.HasPrefix(name, "xn--"), strings.HasPrefix(name, "sthree-"):
		return "it starts with a prefix S3 reserves"
	case strings.HasSuffix(name, "-s3alias"), strings.HasSuffix(name, "--ol-s3"):
		return "it ends with a suffix S3 reserves"
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "it reads as an IP address"
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.'
		if !ok {
			return fmt.Sprintf("it has %q at position %d, and S3 takes only lower-case letters a to z, digits, '-' and '.'", r, i+1)
		}
	}
	if first, last := name[0], name[len(name)-1]; first == '-' || first == '.' || last == '-' || last == '.' {
		return "it must start and end with a letter or digit"
	}
	return ""
}
