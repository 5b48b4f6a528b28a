-- The current state a monitoring handler reported (for example "up" of the http type); null until it reports.
ALTER TABLE tasks ADD COLUMN up INTEGER NULL;

-- What a handler keeps between runs of one task, written with the outcome of a successful run.
CREATE TABLE task_memory (
  task_id    INTEGER PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Webhook notifications: an outbox written in the same transaction as the run outcome that caused it.
CREATE TABLE notifications (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id         INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  run_id          INTEGER NULL,
  event           TEXT NOT NULL,
  url             TEXT NOT NULL,
  body            TEXT NOT NULL,
  status          TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  lease_until     TEXT NULL,
  last_error      TEXT NULL,
  created_at      TEXT NOT NULL,
  delivered_at    TEXT NULL
);
CREATE INDEX idx_notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX idx_notifications_task ON notifications (task_id, id);
CREATE INDEX idx_notifications_created ON notifications (created_at);

-- One row per delivery attempt.
CREATE TABLE notification_attempts (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  attempt         INTEGER NOT NULL,
  status_code     INTEGER NULL,
  error           TEXT NULL,
  duration_ms     INTEGER NOT NULL,
  created_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_notification_attempts ON notification_attempts (notification_id, attempt);
