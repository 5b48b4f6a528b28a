-- Tasks: the schedule and the state of each task's current slot. Times are ISO-8601 UTC text, which sorts.
CREATE TABLE tasks (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  name             TEXT NOT NULL,
  type             TEXT NOT NULL,
  payload          TEXT NOT NULL,
  schedule_every   INTEGER NULL,
  schedule_cron    TEXT NULL,
  schedule_tz      TEXT NULL,
  priority         INTEGER NOT NULL DEFAULT 3,
  timeout_ms       INTEGER NOT NULL,
  max_attempts     INTEGER NOT NULL,
  status           TEXT NOT NULL,
  notify           TEXT NULL,
  next_run_at      TEXT NOT NULL,
  run_after        TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  pending_source   TEXT NULL,
  queued_until     TEXT NULL,
  manual_run_at    TEXT NULL,
  lease_owner      TEXT NULL,
  lease_token      TEXT NULL,
  lease_expires_at TEXT NULL,
  last_run_at      TEXT NULL,
  last_status      TEXT NULL,
  last_error       TEXT NULL,
  idempotency_key  TEXT NULL,
  request_hash     TEXT NULL,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_tasks_idempotency_key ON tasks (idempotency_key);
-- Due running tasks: the poller and the publisher take them highest priority first, oldest first, and stop at
-- their LIMIT, instead of sorting every due row.
CREATE INDEX idx_tasks_due ON tasks (status, priority DESC, run_after);
CREATE INDEX idx_tasks_lease ON tasks (lease_expires_at);
CREATE INDEX idx_tasks_type ON tasks (type);

-- One row per attempt. The unique key makes "one attempt of a slot at a time" hold in the database too.
CREATE TABLE task_runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  slot        TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  source      TEXT NOT NULL,
  status      TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT NULL,
  duration_ms INTEGER NULL,
  worker      TEXT NOT NULL,
  output      TEXT NULL,
  error       TEXT NULL
);
CREATE UNIQUE INDEX uq_task_runs_slot_attempt ON task_runs (task_id, slot, attempt);
CREATE INDEX idx_task_runs_started ON task_runs (started_at);

-- Messages and slots that could not be processed, kept with their reason until replayed, deleted or expired.
CREATE TABLE dead_letters (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id    INTEGER NULL,
  slot       TEXT NULL,
  reason     TEXT NOT NULL,
  error      TEXT NULL,
  fields     TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX idx_dead_letters_created ON dead_letters (created_at);
CREATE INDEX idx_dead_letters_task ON dead_letters (task_id);
