-- SQLite. The samples AUTOINCREMENT sequence: unlike max(id) it never goes
-- back when the newest rows are deleted (the store's high-water mark).
SELECT seq FROM sqlite_sequence WHERE name = 'samples'
