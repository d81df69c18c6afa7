-- Up Migration

-- Hub mode: after the cloud refuses our cursor (restored from a backup), the
-- hub pulls everything again and notes, per record the cloud sent, the fields
-- it holds newer than the cloud's copy (`behind`: field -> the cloud's stamp,
-- or null where the cloud has none). When the re-pull ends, what the cloud
-- did not send back, or sent back older, is offered to it again
-- (backend/src/upstream/repull.ts). Emptied when the re-pull ends.
CREATE TABLE upstream_repull_seen (
  community_id uuid NOT NULL,
  entity_type text NOT NULL,
  entity_id uuid NOT NULL,
  behind jsonb NOT NULL,
  PRIMARY KEY (community_id, entity_type, entity_id)
);

-- Down Migration
DROP TABLE upstream_repull_seen;
