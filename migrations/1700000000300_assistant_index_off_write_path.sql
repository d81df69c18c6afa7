-- Up Migration

-- Index passages after the fact instead of in a trigger on every record
-- write: a sync push of 500 updates must not pay for markdown splitting and
-- tsvector building row by row. The indexer (backend/src/assistant/indexer.ts)
-- follows `records` in commit order, like a puller, and the assistant catches
-- it up before it searches, so answers still see every committed write.
DROP TRIGGER assistant_index_touch ON records;
DROP TRIGGER assistant_index_update ON records;
DROP TRIGGER assistant_index_insert ON records;
DROP FUNCTION assistant_records_touched();
DROP FUNCTION assistant_records_changed();

-- The indexer reads every community in commit order.
CREATE INDEX records_commit_order ON records (tx_id, seq);

-- Down Migration
DROP INDEX records_commit_order;
CREATE FUNCTION assistant_records_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM assistant_index_record(
    NEW.community_id, NEW.entity_type, NEW.entity_id, NEW.fields, NEW.deleted_at, NEW.updated_at);
  RETURN NULL;
END;
$$;
CREATE FUNCTION assistant_records_touched() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE assistant_passages SET source_updated_at = NEW.updated_at
   WHERE community_id = NEW.community_id AND entity_type = NEW.entity_type AND entity_id = NEW.entity_id;
  RETURN NULL;
END;
$$;
CREATE TRIGGER assistant_index_insert AFTER INSERT ON records
  FOR EACH ROW WHEN (NEW.entity_type IN ('document', 'update')) EXECUTE FUNCTION assistant_records_changed();
CREATE TRIGGER assistant_index_update AFTER UPDATE ON records
  FOR EACH ROW WHEN (NEW.entity_type IN ('document', 'update')) EXECUTE FUNCTION assistant_records_changed();
CREATE TRIGGER assistant_index_touch AFTER UPDATE ON records
  FOR EACH ROW WHEN (false) EXECUTE FUNCTION assistant_records_touched();
