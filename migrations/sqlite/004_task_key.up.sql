-- A stable, optional name for a task, chosen by its owner: what `vigil apply` matches a monitors file on. Unique,
-- so that two concurrent applies cannot both create the task.
ALTER TABLE tasks ADD COLUMN "key" TEXT NULL;
CREATE UNIQUE INDEX uq_tasks_key ON tasks ("key");
