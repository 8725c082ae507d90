"""Jobs: the model, the SQLite store and the pipeline steps. No Qt."""
