-- Up Migration

-- Hub mode: changes accepted here wait in this queue until the cloud has
-- them. Records pulled from the cloud are merged as states and never queued,
-- so nothing echoes back up.
CREATE TABLE upstream_outbox (
  seq bigserial PRIMARY KEY,
  community_id uuid NOT NULL,
  change_id uuid NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
  error jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (community_id, change_id)
);
CREATE INDEX upstream_outbox_pending ON upstream_outbox (seq) WHERE state = 'pending';

-- Down Migration
DROP TABLE upstream_outbox;
