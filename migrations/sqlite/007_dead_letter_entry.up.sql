-- The stream entry a dead letter was made from (`<stream key>/<entry id>`); unique, so that a redelivered entry
-- never makes a second dead letter (see the MySQL migration).
ALTER TABLE dead_letters ADD COLUMN entry_key TEXT NULL;
CREATE UNIQUE INDEX uq_dead_letters_entry ON dead_letters (entry_key);
