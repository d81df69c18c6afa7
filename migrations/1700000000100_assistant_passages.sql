-- Up Migration

-- The assistant's retrieval index: documents and updates split into passages
-- (markdown sections, long sections cut into paragraph windows) so a long
-- guide retrieves the part that answers the question, not its first page.
--
-- Kept in step with `records` by a trigger, whoever writes the record (push,
-- conflict resolution, upstream pull): nothing in the application has to
-- remember to re-index. The trigger never raises on odd field values (a
-- failing trigger would reject a sync write); it indexes what it can read.

CREATE FUNCTION assistant_split_markdown(body text, max_chars integer DEFAULT 1200)
RETURNS TABLE (ord integer, heading text, content text)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  section text;
  section_heading text;
  section_body text;
  heading_match text[];
  para text;
  chunk text;
  n integer := 0;
BEGIN
  -- Sections start at ATX headings ("# ...", "## ..."); text before the first heading is a section too.
  FOR section IN
    SELECT s FROM regexp_split_to_table(replace(coalesce(body, ''), E'\r\n', E'\n'), '\n(?=#{1,6}[ \t])') AS s
  LOOP
    heading_match := regexp_match(section, '^\s*#{1,6}[ \t]+([^\n]*)');
    IF heading_match IS NULL THEN
      section_heading := NULL;
      section_body := section;
    ELSE
      section_heading := nullif(btrim(regexp_replace(heading_match[1], '[ \t]#+[ \t]*$', '')), '');
      section_body := regexp_replace(section, '^\s*#{1,6}[ \t]+[^\n]*\n?', '');
    END IF;

    -- Paragraph windows: whole paragraphs up to max_chars; an oversized paragraph is cut in slices.
    chunk := '';
    FOR para IN SELECT btrim(p, E' \t\n') FROM regexp_split_to_table(section_body, '\n[ \t]*\n') AS p LOOP
      CONTINUE WHEN para = '';
      IF chunk <> '' AND length(chunk) + length(para) + 2 > max_chars THEN
        n := n + 1;
        ord := n; heading := section_heading; content := chunk;
        RETURN NEXT;
        chunk := '';
      END IF;
      WHILE length(para) > max_chars LOOP
        IF chunk <> '' THEN
          n := n + 1;
          ord := n; heading := section_heading; content := chunk;
          RETURN NEXT;
          chunk := '';
        END IF;
        n := n + 1;
        ord := n; heading := section_heading; content := left(para, max_chars);
        RETURN NEXT;
        para := btrim(substr(para, max_chars + 1), E' \t\n');
      END LOOP;
      IF para <> '' THEN
        chunk := CASE WHEN chunk = '' THEN para ELSE chunk || E'\n\n' || para END;
      END IF;
    END LOOP;
    IF chunk <> '' THEN
      n := n + 1;
      ord := n; heading := section_heading; content := chunk;
      RETURN NEXT;
    END IF;
  END LOOP;
END;
$$;

CREATE TABLE assistant_passages (
  community_id uuid NOT NULL,
  entity_type text NOT NULL,
  entity_id uuid NOT NULL,
  ord integer NOT NULL,
  title text NOT NULL,
  heading text,
  content text NOT NULL,
  -- When the source record last changed: "recent updates" are judged by it.
  source_updated_at timestamptz NOT NULL,
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A')
      || setweight(to_tsvector('english', coalesce(heading, '')), 'A')
      || setweight(to_tsvector('english', content), 'B')
  ) STORED,
  PRIMARY KEY (community_id, entity_type, entity_id, ord),
  FOREIGN KEY (community_id, entity_type, entity_id)
    REFERENCES records (community_id, entity_type, entity_id) ON DELETE CASCADE
);
CREATE INDEX assistant_passages_search ON assistant_passages USING gin (search);

CREATE FUNCTION assistant_index_record(
  p_community_id uuid, p_entity_type text, p_entity_id uuid, p_fields jsonb, p_deleted_at timestamptz,
  p_updated_at timestamptz
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  doc_title text;
  doc_body text;
BEGIN
  DELETE FROM assistant_passages
   WHERE community_id = p_community_id AND entity_type = p_entity_type AND entity_id = p_entity_id;
  IF p_deleted_at IS NOT NULL OR p_entity_type NOT IN ('document', 'update') THEN
    RETURN;
  END IF;
  doc_title := CASE WHEN jsonb_typeof(p_fields -> 'title') = 'string' THEN p_fields ->> 'title' ELSE '' END;
  doc_body := CASE WHEN jsonb_typeof(p_fields -> 'body') = 'string' THEN p_fields ->> 'body' ELSE '' END;
  INSERT INTO assistant_passages
    (community_id, entity_type, entity_id, ord, title, heading, content, source_updated_at)
  SELECT p_community_id, p_entity_type, p_entity_id, s.ord, doc_title, s.heading, s.content, p_updated_at
    FROM assistant_split_markdown(doc_body) AS s;
  -- A titled record with no body still answers questions about its title.
  IF NOT FOUND AND doc_title <> '' THEN
    INSERT INTO assistant_passages
      (community_id, entity_type, entity_id, ord, title, heading, content, source_updated_at)
    VALUES (p_community_id, p_entity_type, p_entity_id, 1, doc_title, NULL, '', p_updated_at);
  END IF;
END;
$$;

CREATE FUNCTION assistant_records_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM assistant_index_record(
    NEW.community_id, NEW.entity_type, NEW.entity_id, NEW.fields, NEW.deleted_at, NEW.updated_at);
  RETURN NULL;
END;
$$;

CREATE TRIGGER assistant_index_insert
  AFTER INSERT ON records
  FOR EACH ROW WHEN (NEW.entity_type IN ('document', 'update'))
  EXECUTE FUNCTION assistant_records_changed();

-- Re-split only when what is indexed changed (title, body, deletion); a
-- status or tag edit keeps its passages, and source_updated_at follows along.
CREATE TRIGGER assistant_index_update
  AFTER UPDATE ON records
  FOR EACH ROW WHEN (
    NEW.entity_type IN ('document', 'update') AND (
      OLD.fields -> 'title' IS DISTINCT FROM NEW.fields -> 'title'
      OR OLD.fields -> 'body' IS DISTINCT FROM NEW.fields -> 'body'
      OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
    )
  )
  EXECUTE FUNCTION assistant_records_changed();

CREATE FUNCTION assistant_records_touched() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE assistant_passages SET source_updated_at = NEW.updated_at
   WHERE community_id = NEW.community_id AND entity_type = NEW.entity_type AND entity_id = NEW.entity_id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER assistant_index_touch
  AFTER UPDATE ON records
  FOR EACH ROW WHEN (
    NEW.entity_type IN ('document', 'update')
    AND OLD.fields -> 'title' IS NOT DISTINCT FROM NEW.fields -> 'title'
    AND OLD.fields -> 'body' IS NOT DISTINCT FROM NEW.fields -> 'body'
    AND OLD.deleted_at IS NOT DISTINCT FROM NEW.deleted_at
    AND OLD.updated_at IS DISTINCT FROM NEW.updated_at
  )
  EXECUTE FUNCTION assistant_records_touched();

-- Records written before this migration.
SELECT assistant_index_record(community_id, entity_type, entity_id, fields, deleted_at, updated_at)
  FROM records
 WHERE entity_type IN ('document', 'update') AND deleted_at IS NULL;

-- Down Migration
DROP TRIGGER assistant_index_touch ON records;
DROP TRIGGER assistant_index_update ON records;
DROP TRIGGER assistant_index_insert ON records;
DROP FUNCTION assistant_records_touched();
DROP FUNCTION assistant_records_changed();
DROP FUNCTION assistant_index_record(uuid, text, uuid, jsonb, timestamptz, timestamptz);
DROP TABLE assistant_passages;
DROP FUNCTION assistant_split_markdown(text, integer);
