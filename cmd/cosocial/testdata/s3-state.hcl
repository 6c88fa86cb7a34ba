coop "lakeside" {
  name   = "Lakeside Social"
  domain = "lakeside.example.ca"
}

policy "residency" {
  data_country = "CA"
  on_violation = "error"
}

state {
  backend = "s3"
  bucket  = bucket.state
}

provider "ovh" "bhs" {
  endpoint = "ovh-ca"
  project  = "lakeside"
  region   = "BHS5"
}

server "web" {
  provider = provider.bhs
  flavor   = "b3-8"
  image    = "Debian 12"
}

database "main" {
  provider = provider.bhs
  engine   = "postgresql"
  version  = "16"
  plan     = "essential"
  flavor   = "db1-4"
  disk_gb  = 80
}

bucket "media" {
  provider = provider.bhs
  public   = true
}

bucket "state" {
  provider = provider.bhs
}

dns "zone" {
  provider = provider.bhs
  zone     = "lakeside.example.ca"
  ttl      = 60
}

service "pixelfed" "lakeside" {
  domain     = "lakeside.example.ca"
  version    = "0.12.4"
  server     = server.web
  database   = database.main
  media      = bucket.media
  media_host = "media.lakeside.example.ca"
  dns        = dns.zone

  smtp {
    host         = "smtp.lakeside.example.ca"
    user         = "postmaster@lakeside.example.ca"
    password_env = "LAKESIDE_SMTP_PASSWORD"
    from         = "photos@lakeside.example.ca"
  }
}
