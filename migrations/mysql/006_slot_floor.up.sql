-- The latest slot an attempt of the task was claimed for. A task's slots only move forward (G3): every write of
-- next_run_at that starts a new slot (a completion, "run now", a new schedule) lands after it, so a slot that
-- was already claimed, started or finished can never come up again, whatever clock the writer read.
ALTER TABLE tasks ADD COLUMN last_slot DATETIME(3) NULL AFTER run_after;
UPDATE tasks SET last_slot = (SELECT MAX(r.slot) FROM task_runs r WHERE r.task_id = tasks.id);
UPDATE tasks SET last_slot = next_run_at WHERE (lease_token IS NOT NULL OR attempts > 0) AND (last_slot IS NULL OR last_slot < next_run_at);
