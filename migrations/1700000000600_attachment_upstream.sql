-- Up Migration

-- Hub ↔ cloud attachment transfer (backend/src/upstream/attachments.ts).
--
-- Cloud side: the order in which attachments became complete, for the
-- hub-only listing GET /api/attachments?after=<cursor>. Like the record pull
-- order it is (transaction id, sequence), and a page only shows rows of
-- transactions older than every one still in flight, so an upload that
-- completes in a long transaction and commits late is never jumped over.
-- A trigger sets it, whatever path completes the attachment.
CREATE SEQUENCE attachments_complete_seq;
ALTER TABLE attachments
  ADD COLUMN complete_tx xid8,
  ADD COLUMN complete_seq bigint,
  -- Hub side: when the cloud was known to hold this attachment complete
  -- (uploaded from here, or fetched from there). NULL on a complete row: still to send.
  ADD COLUMN upstream_at timestamptz,
  -- Hub side: the cloud refused the upload (quota, type...): why, and not before when to try again.
  ADD COLUMN upstream_error text,
  ADD COLUMN upstream_retry_at timestamptz;

-- Attachments completed before this migration come first, in one transaction.
UPDATE attachments SET complete_tx = pg_current_xact_id(), complete_seq = nextval('attachments_complete_seq')
 WHERE complete;

CREATE FUNCTION attachments_stamp_complete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.complete AND (TG_OP = 'INSERT' OR NOT OLD.complete) THEN
    NEW.complete_tx := pg_current_xact_id();
    NEW.complete_seq := nextval('attachments_complete_seq');
  ELSIF NOT NEW.complete THEN
    NEW.complete_tx := NULL;
    NEW.complete_seq := NULL;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER attachments_stamp_complete BEFORE INSERT OR UPDATE OF complete ON attachments
  FOR EACH ROW EXECUTE FUNCTION attachments_stamp_complete();

CREATE INDEX attachments_listing_order ON attachments (community_id, complete_tx, complete_seq) WHERE complete;
CREATE INDEX attachments_to_send ON attachments (community_id, completed_at) WHERE complete AND upstream_at IS NULL;

-- Hub side: attachments the cloud listed that this hub does not hold yet.
-- Filled from the listing together with the listing cursor (one
-- transaction), emptied as each one is stored here complete.
CREATE TABLE attachment_downloads (
  community_id uuid NOT NULL REFERENCES communities (id) ON DELETE CASCADE,
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  size bigint NOT NULL CHECK (size >= 1),
  name text,
  listed_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  retry_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (community_id, hash)
);

-- Down Migration
DROP TABLE attachment_downloads;
DROP INDEX attachments_to_send;
DROP INDEX attachments_listing_order;
DROP TRIGGER attachments_stamp_complete ON attachments;
DROP FUNCTION attachments_stamp_complete();
ALTER TABLE attachments
  DROP COLUMN complete_tx,
  DROP COLUMN complete_seq,
  DROP COLUMN upstream_at,
  DROP COLUMN upstream_error,
  DROP COLUMN upstream_retry_at;
DROP SEQUENCE attachments_complete_seq;
