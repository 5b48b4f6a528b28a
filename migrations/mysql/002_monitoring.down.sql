DROP TABLE notification_attempts;
DROP TABLE notifications;
DROP TABLE task_memory;
ALTER TABLE tasks DROP COLUMN up;
