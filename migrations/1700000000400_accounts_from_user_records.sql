-- Up Migration

-- Accounts now follow the synced `user` records, wherever those were written
-- (this server's admins, a hub's admins during an outage, a conflict
-- resolution), so hub-made accounts reach the cloud and back.
--
-- Two accounts may come to share an email when each side created one during
-- an outage. Both are kept; one holds the email for sign-in, the other is
-- `held` until an admin settles it (an open conflict says so). So email is
-- unique only among accounts that can sign in.
ALTER TABLE users
  ADD COLUMN email_stamp text,
  ADD COLUMN held boolean NOT NULL DEFAULT false,
  ADD COLUMN removed boolean NOT NULL DEFAULT false;

UPDATE users u SET email_stamp = r.stamps ->> 'email'
  FROM records r
 WHERE r.entity_type = 'user' AND r.entity_id = u.id AND r.community_id = u.community_id;

DROP INDEX users_email_unique;
CREATE UNIQUE INDEX users_email_sign_in ON users (lower(email)) WHERE NOT held AND NOT removed;
CREATE INDEX users_email ON users (lower(email));

-- Down Migration
DROP INDEX users_email;
DROP INDEX users_email_sign_in;
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
ALTER TABLE users DROP COLUMN removed, DROP COLUMN held, DROP COLUMN email_stamp;
