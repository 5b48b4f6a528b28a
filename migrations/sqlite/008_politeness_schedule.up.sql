-- Politeness per host (see the MySQL migration): one row per permit held; the primary key is the semaphore.
CREATE TABLE host_permits (
  host       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  slot_no    INTEGER NOT NULL,
  token      TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  PRIMARY KEY (host, kind, slot_no)
);

-- `schedule.jitter` (seconds) and `schedule.catch_up` ('collapse' or null, 'skip', 'window:<ms>').
ALTER TABLE tasks ADD COLUMN schedule_jitter INTEGER NULL;
ALTER TABLE tasks ADD COLUMN schedule_catch_up TEXT NULL;
