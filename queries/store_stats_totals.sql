-- SQLite. vigil store stats: series, samples, the oldest and newest sample
-- (unix ms, NULL when empty), and the file's size and free space in bytes.
SELECT (SELECT count(*) FROM series),
       (SELECT count(*) FROM samples),
       (SELECT min(ts) FROM samples),
       (SELECT max(ts) FROM samples),
       (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size()),
       (SELECT freelist_count FROM pragma_freelist_count()) * (SELECT page_size FROM pragma_page_size())
