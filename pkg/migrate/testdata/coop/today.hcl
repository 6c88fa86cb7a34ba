# What the co-op runs today on DigitalOcean in Toronto.
coop "northwind" {
  name   = "Northwind Social Co-operative"
  domain = "northwind.example.ca"
}

provider "digitalocean" "toronto" {
  region = "tor1"
}

server "web" {
  provider = provider.toronto
  flavor   = "s-2vcpu-4gb"
  image    = "ubuntu-22-04-x64"
}

database "main" {
  provider = provider.toronto
  engine   = "postgresql"
  version  = "15"
  flavor   = "db-s-2vcpu-4gb"
  disk_gb  = 60
}

bucket "media" {
  provider = provider.toronto
  public   = true
}

service "mastodon" "social" {
  domain     = "northwind.example.ca"
  version    = "4.3.2"
  server     = server.web
  database   = database.main
  media      = bucket.media
  media_host = "media.northwind.example.ca"
}
