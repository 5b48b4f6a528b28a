-- Tasks: the schedule and the state of each task's current slot.
CREATE TABLE tasks (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name             VARCHAR(200) NOT NULL,
  type             VARCHAR(100) NOT NULL,
  payload          LONGTEXT NOT NULL,
  schedule_every   INT UNSIGNED NULL,
  schedule_cron    VARCHAR(200) NULL,
  schedule_tz      VARCHAR(64) NULL,
  priority         TINYINT UNSIGNED NOT NULL DEFAULT 3,
  timeout_ms       INT UNSIGNED NOT NULL,
  max_attempts     SMALLINT UNSIGNED NOT NULL,
  status           VARCHAR(16) NOT NULL,
  notify           LONGTEXT NULL,
  next_run_at      DATETIME(3) NOT NULL,
  run_after        DATETIME(3) NOT NULL,
  attempts         SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  pending_source   VARCHAR(16) NULL,
  queued_until     DATETIME(3) NULL,
  manual_run_at    DATETIME(3) NULL,
  lease_owner      VARCHAR(200) NULL,
  lease_token      CHAR(36) NULL,
  lease_expires_at DATETIME(3) NULL,
  last_run_at      DATETIME(3) NULL,
  last_status      VARCHAR(16) NULL,
  last_error       TEXT NULL,
  idempotency_key  VARCHAR(200) NULL,
  request_hash     CHAR(64) NULL,
  created_at       DATETIME(3) NOT NULL,
  updated_at       DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_tasks_idempotency_key (idempotency_key),
  -- Due running tasks: the poller and the publisher take them highest priority first, oldest first, and stop at
  -- their LIMIT, instead of sorting (and locking) every due row.
  KEY idx_tasks_due (status, priority DESC, run_after),
  KEY idx_tasks_lease (lease_expires_at),
  KEY idx_tasks_type (type)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per attempt. The unique key makes "one attempt of a slot at a time" hold in the database too.
CREATE TABLE task_runs (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  task_id     BIGINT UNSIGNED NOT NULL,
  slot        DATETIME(3) NOT NULL,
  attempt     SMALLINT UNSIGNED NOT NULL,
  source      VARCHAR(16) NOT NULL,
  status      VARCHAR(16) NOT NULL,
  started_at  DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NULL,
  duration_ms INT UNSIGNED NULL,
  worker      VARCHAR(200) NOT NULL,
  output      LONGTEXT NULL,
  error       TEXT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_task_runs_slot_attempt (task_id, slot, attempt),
  KEY idx_task_runs_started (started_at),
  CONSTRAINT fk_task_runs_task FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Messages and slots that could not be processed, kept with their reason until replayed, deleted or expired.
CREATE TABLE dead_letters (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  task_id    BIGINT UNSIGNED NULL,
  slot       DATETIME(3) NULL,
  reason     VARCHAR(32) NOT NULL,
  error      TEXT NULL,
  fields     LONGTEXT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_dead_letters_created (created_at),
  KEY idx_dead_letters_task (task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
