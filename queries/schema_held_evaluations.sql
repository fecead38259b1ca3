-- Migration 6: evaluations whose message is not stored (yet), with what the rollups need of them,
-- so that a write of new messages finds the evaluations that were waiting for them in a small
-- table instead of probing every evaluation. Kept by queries/writes.py.
CREATE TABLE IF NOT EXISTS held_evaluations (
    message_id VARCHAR PRIMARY KEY,
    rated_at   TIMESTAMP NOT NULL,
    verdict    BOOLEAN
);
