"""Concurrent write requests of one kind share one transaction (group commit).

A write's transaction costs about the same for 10 records as for 100 (its dozen statements have a fixed
cost each), so eight writers posting small batches at once spent most of the write lock on that fixed
cost. A request hands its validated batch to `WriteGroups.upsert`; the first request to reach the write
takes every batch of its kind waiting by then (up to `max_rows` records) and writes them as one, and each
request gets back the result for its own rows, as if it had been written alone, in arrival order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from queries.db import Store
from queries.writes import ID_COLUMN, Rejection, WriteResult, upsert


@dataclass
class _Job:
    kind: str
    batch: pd.DataFrame
    result: WriteResult | None = None
    error: BaseException | None = None
    done: bool = False


class WriteGroups:
    def __init__(self, store: Store, max_rows: int = 20_000):
        self.store = store
        self.max_rows = max_rows
        self._waiting: list[_Job] = []
        self._queue_lock = threading.Lock()
        self._leader = threading.Lock()  # one group is written at a time; the others wait here

    def upsert(self, kind: str, batch: pd.DataFrame) -> WriteResult:
        """Write `batch` (validated rows of `kind` with `_row`), with whatever else waits, in one transaction."""
        job = _Job(kind, batch)
        with self._queue_lock:
            self._waiting.append(job)
        with self._leader:
            if not job.done:
                self._write(self._take(job))
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self, first: _Job) -> list[_Job]:
        with self._queue_lock:
            group, rows, rest = [], 0, []
            for job in self._waiting:
                if job is first or (job.kind == first.kind and rows + len(job.batch) <= self.max_rows):
                    group.append(job)
                    rows += len(job.batch)
                else:
                    rest.append(job)
            self._waiting = rest
        return group

    def _write(self, group: list[_Job]) -> None:
        results = None
        if len(group) > 1:
            try:
                results = self.write_together(group[0].kind, [job.batch for job in group])
            except Exception:  # noqa: BLE001 - one failing batch must not fail the others: each alone below
                results = None
        for job, result in zip(group, results or [None] * len(group), strict=True):
            try:
                job.result = result if result is not None else upsert(self.store, job.kind, job.batch)
            except Exception as exc:  # noqa: BLE001 - handed to the request that sent the batch
                job.error = exc
            job.done = True

    def write_together(self, kind: str, batches: list[pd.DataFrame]) -> list[WriteResult]:
        """One upsert of `batches` in their order (`_row` renumbered across them); its result split back into
        one per batch, as each would have had written alone in that order."""
        frames, owner, own_rows, offset = [], [], [], 0
        for index, batch in enumerate(batches):
            batch = batch.drop_duplicates(ID_COLUMN[kind], keep="last")  # as upsert does with one batch
            own_rows.append(batch["_row"].to_numpy() if "_row" in batch.columns else np.arange(1, len(batch) + 1))
            frames.append(batch.assign(_row=np.arange(offset, offset + len(batch))))
            owner.append(np.full(len(batch), index))
            offset += len(batch)
        merged = upsert(self.store, kind, pd.concat(frames, ignore_index=True))
        owners = np.concatenate(owner)
        starts = np.cumsum([0] + [len(frame) for frame in frames])
        results = [WriteResult() for _ in batches]
        for rejection in merged.rejected:
            index = int(owners[rejection.row])
            original = int(own_rows[index][rejection.row - starts[index]])
            results[index].rejected.append(Rejection(original, rejection.field, rejection.reason))
        for row in merged.held_rows:
            results[int(owners[row])].held += 1
        first_owner: dict = {}
        for index, frame in enumerate(frames):
            for record_id in frame[ID_COLUMN[kind]]:
                first_owner.setdefault(record_id, index)  # an earlier batch would have linked them
        for message_id, count in merged.linked_by.items():
            results[first_owner[message_id]].linked += count
        for frame, result in zip(frames, results, strict=True):
            result.written = len(frame) - len(result.rejected) - result.held
        return results
