-- The stream entry a dead letter was made from (`<stream key>/<entry id>`); unique, so that a redelivered entry
-- never makes a second dead letter (see the MySQL migration).
ALTER TABLE dead_letters ADD COLUMN entry_key TEXT NULL;
CREATE UNIQUE INDEX uq_dead_letters_entry ON dead_letters (entry_key);

-- The token of a notification's delivery lease: its attempt is recorded only while this token still holds the
-- lease, so a delivery whose record came late (after another process took the notification) changes nothing.
ALTER TABLE notifications ADD COLUMN lease_token TEXT NULL;
