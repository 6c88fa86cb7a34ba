# A co-op moving off DigitalOcean to OVHcloud's Beauharnois region: a
# target the sandbox can stand up whole, for rehearsing the whole run.
coop "northwind" {
  name   = "Northwind Social Co-operative"
  domain = "northwind.example.ca"
}

policy "residency" {
  data_country = "CA"
  ownership    = "canadian"
  on_violation = "warn" # OVHcloud is French-owned: reported, not blocking
}

provider "ovh" "beauharnois" {
  endpoint = "ovh-ca"
  project  = "0a1b2c3d4e5f0011"
  region   = "BHS5"
}

server "web" {
  provider = provider.beauharnois
  flavor   = "b3-8"
  image    = "Debian 12"
}

database "main" {
  provider = provider.beauharnois
  engine   = "postgresql"
  version  = "16"
  plan     = "essential"
  flavor   = "db1-4"
  disk_gb  = 80
}

bucket "media" {
  provider = provider.beauharnois
  public   = true
}

dns "zone" {
  provider = provider.beauharnois
  zone     = "northwind.example.ca"
}

service "mastodon" "social" {
  domain     = "northwind.example.ca"
  version    = "4.3.2"
  server     = server.web
  database   = database.main
  media      = bucket.media
  media_host = "media.northwind.example.ca"
  dns        = dns.zone
}

migration "off-digitalocean" {
  source          = "today.hcl"
  downtime_budget = "10m"
}
