-- Notification channels, made once and used by many tasks (`notify.channels`). `config` is JSON and holds the
-- channel's secrets (passwords, tokens, webhook URLs); the API never returns them whole.
CREATE TABLE channels (
  id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name       VARCHAR(200) NOT NULL,
  kind       VARCHAR(32) NOT NULL,
  config     LONGTEXT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_channels_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A notification for a channel names it; one for a task's own webhook_url has none (and keeps its url). No
-- foreign key: the history of a channel that was deleted stays readable.
ALTER TABLE notifications ADD COLUMN channel_id BIGINT UNSIGNED NULL AFTER run_id;

-- Alert state, written with the outcome that changes it, under the task row's lock. `up` (migration 002) is the
-- confirmed state; these say how the latest results got there.
ALTER TABLE tasks
  -- Nothing is sent before this time (the checks still run and are recorded).
  ADD COLUMN silenced_until    DATETIME(3) NULL AFTER up,
  -- What the latest result showed (1 up, 0 down), and how many results in a row showed it.
  ADD COLUMN alert_last_up     TINYINT(1) NULL AFTER silenced_until,
  ADD COLUMN alert_streak      INT UNSIGNED NOT NULL DEFAULT 0 AFTER alert_last_up,
  -- When the confirmed state became down; null while up.
  ADD COLUMN alert_down_since  DATETIME(3) NULL AFTER alert_streak,
  -- When the last `down` (or reminder) was sent, and how many reminders followed it.
  ADD COLUMN alert_reminded_at DATETIME(3) NULL AFTER alert_down_since,
  ADD COLUMN alert_reminders   INT UNSIGNED NOT NULL DEFAULT 0 AFTER alert_reminded_at;
