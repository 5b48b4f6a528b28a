ALTER TABLE tasks DROP COLUMN schedule_catch_up, DROP COLUMN schedule_jitter;
DROP TABLE host_permits;
