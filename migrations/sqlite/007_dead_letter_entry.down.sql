ALTER TABLE notifications DROP COLUMN lease_token;
DROP INDEX uq_dead_letters_entry;
ALTER TABLE dead_letters DROP COLUMN entry_key;
