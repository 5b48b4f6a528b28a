ALTER TABLE tasks
  DROP COLUMN alert_reminders,
  DROP COLUMN alert_reminded_at,
  DROP COLUMN alert_down_since,
  DROP COLUMN alert_streak,
  DROP COLUMN alert_last_up,
  DROP COLUMN silenced_until;
ALTER TABLE notifications DROP COLUMN channel_id;
DROP TABLE channels;
