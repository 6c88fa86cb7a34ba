coop "typo" {
  name   = "Typo Co-operative"
  domain = "typo.example.ca"
}

provider "openstack" "montreal" {
  cloud  = "vexxhost"
  region = "ca-ymq-1"
}

# One letter too many: the tool must point at it and suggest the right word.
server "web" {
  provider = provider.montreal
  image    = "Debian 12"
  flavour  = "b3-8"
}
