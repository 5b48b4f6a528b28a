ALTER TABLE tasks DROP COLUMN alert_reminders;
ALTER TABLE tasks DROP COLUMN alert_reminded_at;
ALTER TABLE tasks DROP COLUMN alert_down_since;
ALTER TABLE tasks DROP COLUMN alert_streak;
ALTER TABLE tasks DROP COLUMN alert_last_up;
ALTER TABLE tasks DROP COLUMN silenced_until;
ALTER TABLE notifications DROP COLUMN channel_id;
DROP TABLE channels;
