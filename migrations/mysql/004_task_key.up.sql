-- A stable, optional name for a task, chosen by its owner: what `vigil apply` matches a monitors file on. Unique,
-- so that two concurrent applies cannot both create the task; the binary collation makes it case-sensitive.
ALTER TABLE tasks ADD COLUMN `key` VARCHAR(200) NULL AFTER name;
ALTER TABLE tasks ADD UNIQUE KEY uq_tasks_key (`key`);
