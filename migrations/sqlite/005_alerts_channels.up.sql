-- Notification channels, made once and used by many tasks (`notify.channels`). `config` is JSON and holds the
-- channel's secrets; the API never returns them whole.
CREATE TABLE channels (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  config     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_channels_name ON channels (name);

-- A notification for a channel names it; one for a task's own webhook_url has none. No foreign key, so that the
-- history of a deleted channel stays readable.
ALTER TABLE notifications ADD COLUMN channel_id INTEGER NULL;

-- Alert state, written with the outcome that changes it (see the MySQL migration for each column).
ALTER TABLE tasks ADD COLUMN silenced_until TEXT NULL;
ALTER TABLE tasks ADD COLUMN alert_last_up INTEGER NULL;
ALTER TABLE tasks ADD COLUMN alert_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN alert_down_since TEXT NULL;
ALTER TABLE tasks ADD COLUMN alert_reminded_at TEXT NULL;
ALTER TABLE tasks ADD COLUMN alert_reminders INTEGER NOT NULL DEFAULT 0;
