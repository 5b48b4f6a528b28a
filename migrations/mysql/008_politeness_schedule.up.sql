-- Politeness per host: one row per permit held. `kind` 'run' is a request in flight (released when it ends, or
-- when it expires because its process died), 'rate' a request started within the rate's window (never released
-- early: it expires at the window's end). `slot_no` is below the limit, so the primary key is the semaphore: two
-- processes cannot take the same place. Used in polling mode and with SQLite; stream mode counts in Redis.
CREATE TABLE host_permits (
  host       VARCHAR(255) NOT NULL,
  kind       VARCHAR(8) NOT NULL,
  slot_no    INT UNSIGNED NOT NULL,
  token      VARCHAR(64) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  PRIMARY KEY (host, kind, slot_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE tasks
  -- `schedule.jitter`: seconds; each slot is shifted by a stable offset below it (a hash of the task id).
  ADD COLUMN schedule_jitter   INT UNSIGNED NULL AFTER schedule_tz,
  -- `schedule.catch_up`: 'collapse' (null means the same), 'skip', or 'window:<ms>'.
  ADD COLUMN schedule_catch_up VARCHAR(32) NULL AFTER schedule_jitter;
