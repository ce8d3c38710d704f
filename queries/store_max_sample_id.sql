SELECT max(id) FROM samples
