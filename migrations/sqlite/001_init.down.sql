DROP TABLE dead_letters;
DROP TABLE task_runs;
DROP TABLE tasks;
