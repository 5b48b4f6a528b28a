-- The stream entry a dead letter was made from (`<stream key>/<entry id>`), null for slots that used up their
-- attempts. Unique, so that an entry delivered again (reclaimed after its consumer died, or redelivered while its
-- acknowledgement failed) never makes a second dead letter.
ALTER TABLE dead_letters ADD COLUMN entry_key VARCHAR(300) NULL AFTER fields;
ALTER TABLE dead_letters ADD UNIQUE KEY uq_dead_letters_entry (entry_key);
