DROP INDEX uq_tasks_key;
ALTER TABLE tasks DROP COLUMN "key";
