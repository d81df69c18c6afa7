/**
 * Fill a community with records (and their change log) straight through SQL,
 * shaped like what the server writes, to measure sync against a big table.
 * Statistics are left as they are (no ANALYZE): that is what a server sees
 * when autovacuum has not caught up.
 */
import pg from 'pg';

const CHUNK = 50_000;

export async function preloadRecords(url: string, communityId: string, authorId: string, count: number) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let done = 0; done < count; done += CHUNK) {
      const n = Math.min(CHUNK, count - done);
      await client.query(
        `WITH made AS (
           SELECT gen_random_uuid() AS entity_id, gen_random_uuid() AS change_id, g,
                  lpad((1700000000000 + g)::text, 15, '0') || ':00000:preload' AS stamp
             FROM generate_series($3::int + 1, $3::int + $4::int) AS g
         ), rec AS (
           INSERT INTO records (community_id, entity_type, entity_id, fields, stamps, meta, version)
           SELECT $1, 'update', entity_id,
                  jsonb_build_object('kind', 'need', 'title', 'Preloaded update ' || g,
                    'body', 'Sandbags and water needed at the bridge, about 40 people.', 'priority', 'normal',
                    'status', 'open', 'location', NULL, 'tags', '[]'::jsonb, 'createdBy', $2::text,
                    'createdAt', to_char(to_timestamp((1700000000000 + g) / 1000.0) AT TIME ZONE 'UTC',
                      'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                  jsonb_build_object('kind', stamp, 'title', stamp, 'body', stamp, 'priority', stamp,
                    'status', stamp, 'location', stamp, 'tags', stamp, 'createdBy', stamp, 'createdAt', stamp),
                  jsonb_build_object('w', jsonb_build_array(jsonb_build_array(change_id::text, $2::text, 'preload', NULL)),
                    'f', jsonb_build_object('kind', '[0, null]'::jsonb, 'title', '[0, null]'::jsonb,
                      'body', '[0, null, 1]'::jsonb, 'priority', '[0, null, 1]'::jsonb, 'status', '[0, null, 1]'::jsonb,
                      'location', '[0, null, 1]'::jsonb, 'tags', '[0, null, 1]'::jsonb,
                      'createdBy', '[0, null, 1]'::jsonb, 'createdAt', '[0, null, 1]'::jsonb)),
                  1
             FROM made
           RETURNING entity_id
         )
         INSERT INTO changes (community_id, change_id, entity_type, entity_id, op, fields, stamps, base, author, origin,
                              client_id, client_time, status, version)
         SELECT $1, m.change_id, 'update', m.entity_id, 'upsert',
                jsonb_build_object('kind', 'need', 'title', 'Preloaded update ' || m.g),
                jsonb_build_object('kind', m.stamp, 'title', m.stamp),
                jsonb_build_object('kind', NULL, 'title', NULL), $2, 'preload', 'preload', now()::text, 'applied', 1
           FROM made m`,
        [communityId, authorId, done, n],
      );
    }
    // A server of that size has long indexed these for the assistant: start its indexer past them.
    await client.query(
      `INSERT INTO server_meta (key, value)
       SELECT 'assistant_index_position', tx_id::text || ':' || seq FROM records ORDER BY records.tx_id DESC, records.seq DESC LIMIT 1
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    );
    // A server that has held these records for a while has long written them to disk: start from
    // that steady state, not with the preload's hundreds of MB still dirty in shared buffers (the
    // first measured push would pay for writing them out). Statistics stay as they are.
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}
