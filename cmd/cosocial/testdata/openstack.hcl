coop "northwind" {
  name   = "Northwind Social Co-operative"
  domain = "northwind.example.ca"
}

policy "residency" {
  data_country = "CA"
  ownership    = "canadian"
  on_violation = "error"
}

provider "openstack" "montreal" {
  cloud  = "vexxhost"
  region = "ca-ymq-1"
}

server "web" {
  provider = provider.montreal
  flavor   = "v3-standard-2"
  image    = "Debian 12"
  disk_gb  = 40
}

dns "northwind" {
  provider = provider.montreal
  zone     = "northwind.example.ca"
}

database "main" {
  provider = provider.montreal
  engine   = "postgresql"
  version  = "15"
  flavor   = "v3-standard-4"
  disk_gb  = 40
}
