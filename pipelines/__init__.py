"""Steps that read, compose and write: ingest, features, training, scoring, publishing."""
