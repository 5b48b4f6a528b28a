-- The current state a monitoring handler reported (for example "up" of the http type); null until it reports.
ALTER TABLE tasks ADD COLUMN up TINYINT(1) NULL AFTER last_error;

-- What a handler keeps between runs of one task (hash of the last body, ids already seen), written with the
-- outcome of a successful run, so a restart or a move to another process does not forget it.
CREATE TABLE task_memory (
  task_id    BIGINT UNSIGNED NOT NULL,
  value      LONGTEXT NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (task_id),
  CONSTRAINT fk_task_memory_task FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Webhook notifications: an outbox written in the same transaction as the run outcome that caused it.
CREATE TABLE notifications (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  task_id         BIGINT UNSIGNED NOT NULL,
  run_id          BIGINT UNSIGNED NULL,
  event           VARCHAR(32) NOT NULL,
  url             VARCHAR(2048) NOT NULL,
  body            LONGTEXT NOT NULL,
  status          VARCHAR(16) NOT NULL,
  attempts        SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NOT NULL,
  lease_until     DATETIME(3) NULL,
  last_error      TEXT NULL,
  created_at      DATETIME(3) NOT NULL,
  delivered_at    DATETIME(3) NULL,
  PRIMARY KEY (id),
  KEY idx_notifications_due (status, next_attempt_at),
  KEY idx_notifications_task (task_id, id),
  KEY idx_notifications_created (created_at),
  CONSTRAINT fk_notifications_task FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per delivery attempt.
CREATE TABLE notification_attempts (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  notification_id BIGINT UNSIGNED NOT NULL,
  attempt         SMALLINT UNSIGNED NOT NULL,
  status_code     SMALLINT UNSIGNED NULL,
  error           TEXT NULL,
  duration_ms     INT UNSIGNED NOT NULL,
  created_at      DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_notification_attempts (notification_id, attempt),
  CONSTRAINT fk_notification_attempts FOREIGN KEY (notification_id) REFERENCES notifications (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
