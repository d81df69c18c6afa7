-- Up Migration

-- Attachments' rough edges (README "Photos and files"): unfinished uploads
-- expire, and the hub's to-send page is read down an index.
--
-- Abandoned uploads: a declared upload that never completes counted its
-- declared size against ATTACHMENT_COMMUNITY_MAX_BYTES forever. `updated_at`
-- is when an upload was last declared, restarted or given a piece; an
-- unfinished one untouched for ATTACHMENT_UPLOAD_EXPIRY_HOURS is deleted
-- (row, pieces and their bucket objects) by the server's sweep and before a
-- declaration's quota check. Rows from before this migration count from now.
ALTER TABLE attachments ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Unfinished uploads only (few, however many complete files there are): one
-- community's before a declaration, every community's for the sweep.
CREATE INDEX attachments_unfinished ON attachments (community_id, updated_at) WHERE NOT complete;

-- A hub's files still to send, oldest first: the query orders by
-- (completed_at, hash), and an index on (community_id, completed_at) alone
-- left a sort of every unsent file under each page (100,000 after the cloud
-- was restored), chosen whenever the planner has no statistics. With the hash
-- in the index a page is a walk down it that stops at the page's end.
DROP INDEX attachments_to_send;
CREATE INDEX attachments_to_send ON attachments (community_id, completed_at, hash) WHERE complete AND upstream_at IS NULL;

-- Down Migration
DROP INDEX attachments_to_send;
CREATE INDEX attachments_to_send ON attachments (community_id, completed_at) WHERE complete AND upstream_at IS NULL;
DROP INDEX attachments_unfinished;
ALTER TABLE attachments DROP COLUMN updated_at;
