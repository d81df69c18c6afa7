-- Up Migration

-- One row per fact about this server: its id (shared by every instance on
-- this database, so cursors and sessions are valid on all of them) and the
-- generated session secret.
CREATE TABLE server_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE communities (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
  id uuid PRIMARY KEY,
  community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
  email text NOT NULL,
  display_name text NOT NULL,
  role text NOT NULL CHECK (role IN ('volunteer', 'coordinator', 'admin')),
  disabled boolean NOT NULL DEFAULT false,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Login takes only an email, so an email names one account across communities.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
CREATE INDEX users_community ON users (community_id);

-- express-session's store: shared by every instance; logout deletes the row.
CREATE TABLE sessions (
  sid text PRIMARY KEY,
  sess jsonb NOT NULL,
  user_id uuid,
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE devices (
  id uuid PRIMARY KEY,
  community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('hub')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  api_key_hash text NOT NULL UNIQUE,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz
);
CREATE INDEX devices_community ON devices (community_id);

-- Current state of every synced record. tx_id is the writing transaction's
-- id: a puller only reads rows whose transaction is older than every
-- transaction still running, so a slow commit can never be skipped.
CREATE SEQUENCE records_seq;
CREATE TABLE records (
  community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
  entity_type text NOT NULL,
  entity_id uuid NOT NULL,
  fields jsonb NOT NULL,
  stamps jsonb NOT NULL,
  meta jsonb NOT NULL,
  deleted_at timestamptz,
  version integer NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq bigint NOT NULL DEFAULT nextval('records_seq'),
  PRIMARY KEY (community_id, entity_type, entity_id)
);
CREATE INDEX records_pull_order ON records (community_id, tx_id, seq);
CREATE INDEX records_open_conflicts ON records (community_id, updated_at)
  WHERE entity_type = 'conflict' AND fields ->> 'status' = 'open';

-- Every accepted change, for exactly-once (a re-sent changeId is a
-- duplicate) and for the history of who changed what.
CREATE TABLE changes (
  community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
  change_id uuid NOT NULL,
  entity_type text NOT NULL,
  entity_id uuid NOT NULL,
  op text NOT NULL,
  fields jsonb,
  stamps jsonb NOT NULL,
  base jsonb,
  author text,
  origin text,
  client_id text,
  client_time text,
  status text NOT NULL,
  version integer,
  conflict_ids jsonb,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (community_id, change_id)
);
CREATE INDEX changes_entity ON changes (community_id, entity_id, received_at);

-- Rate-limit counters shared by every instance.
CREATE TABLE rate_limits (
  key text PRIMARY KEY,
  hits integer NOT NULL,
  reset_at timestamptz NOT NULL
);

-- Down Migration
DROP TABLE rate_limits;
DROP TABLE changes;
DROP TABLE records;
DROP SEQUENCE records_seq;
DROP TABLE devices;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE communities;
DROP TABLE server_meta;
