-- The tables of Mastodon's schema that its clean-ups touch, with the
-- columns they read (db/schema.rb of Mastodon 4.3, trimmed).
CREATE TABLE accounts (
  id bigserial PRIMARY KEY,
  username varchar NOT NULL,
  domain varchar,
  note text NOT NULL DEFAULT '',
  created_at timestamp NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX index_accounts_on_username_and_domain ON accounts (lower(username), COALESCE(lower(domain), ''));
CREATE TABLE statuses (
  id bigserial PRIMARY KEY,
  uri varchar,
  text text NOT NULL DEFAULT '',
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  in_reply_to_id bigint,
  reblog_of_id bigint,
  local boolean,
  created_at timestamp NOT NULL DEFAULT now()
);
CREATE INDEX index_statuses_on_account_id_id ON statuses (account_id, id DESC);
CREATE TABLE media_attachments (
  id bigserial PRIMARY KEY,
  status_id bigint REFERENCES statuses (id) ON DELETE SET NULL,
  account_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
  file_file_name varchar,
  file_file_size bigint,
  remote_url varchar NOT NULL DEFAULT '',
  created_at timestamp NOT NULL DEFAULT now()
);
CREATE INDEX index_media_attachments_on_status_id ON media_attachments (status_id);
CREATE TABLE follows (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  target_account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  created_at timestamp NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX index_follows_on_account_id_and_target_account_id ON follows (account_id, target_account_id);
CREATE TABLE preview_cards (
  id bigserial PRIMARY KEY,
  url varchar NOT NULL DEFAULT '',
  image_file_name varchar,
  image_file_size integer,
  updated_at timestamp NOT NULL DEFAULT now()
);
