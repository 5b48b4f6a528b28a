-- The stream entry a dead letter was made from (`<stream key>/<entry id>`), null for slots that used up their
-- attempts. Unique, so that an entry delivered again (reclaimed after its consumer died, or redelivered while its
-- acknowledgement failed) never makes a second dead letter.
ALTER TABLE dead_letters ADD COLUMN entry_key VARCHAR(300) NULL AFTER fields;
ALTER TABLE dead_letters ADD UNIQUE KEY uq_dead_letters_entry (entry_key);

-- The token of a notification's delivery lease: its attempt is recorded only while this token still holds the
-- lease, so a delivery whose record came late (after another process took the notification) changes nothing.
ALTER TABLE notifications ADD COLUMN lease_token CHAR(36) NULL AFTER lease_until;
