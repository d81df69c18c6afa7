-- Up Migration

-- Photos and files, content-addressed per community: the same bytes
-- uploaded twice in one community are stored once, and another community's
-- copy is its own row, invisible here. The bytes live in Postgres (so
-- embedded PGlite, Neon and a hub all hold them, and pg_dump backs them up),
-- in chunks of at most 1 MiB appended by a resumable upload.
--
-- `received` counts the bytes stored so far and moves in the same
-- transaction as the chunk that adds them, so a server killed mid-upload
-- leaves either both or neither. `type` is the type sniffed from the bytes
-- once they are all there and their SHA-256 matched; until then it is NULL.
CREATE TABLE attachments (
  community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  size bigint NOT NULL CHECK (size >= 1),
  received bigint NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= size),
  type text,
  name text CHECK (name IS NULL OR length(name) BETWEEN 1 AND 200),
  complete boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (community_id, hash),
  CHECK (NOT complete OR (received = size AND type IS NOT NULL AND completed_at IS NOT NULL))
);

-- A piece's bytes are in `data`, or (ATTACHMENT_STORE=s3) in the bucket
-- under community/hash/start, with `data` NULL; `length` is known either way.
CREATE TABLE attachment_chunks (
  community_id uuid NOT NULL,
  hash text NOT NULL,
  start bigint NOT NULL CHECK (start >= 0),
  length integer NOT NULL CHECK (length BETWEEN 1 AND 1048576),
  data bytea CHECK (data IS NULL OR octet_length(data) = length),
  PRIMARY KEY (community_id, hash, start),
  FOREIGN KEY (community_id, hash) REFERENCES attachments (community_id, hash) ON DELETE CASCADE
);
-- Images and PDFs are compressed already: store them out of line as they are,
-- without a compression attempt on every chunk.
ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Down Migration
DROP TABLE attachment_chunks;
DROP TABLE attachments;
