DELETE FROM cache_meta
