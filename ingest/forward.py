"""Send validated rows to a running server's write API (used when the server holds the database)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pandas as pd

from queries.writes import Rejection, WriteResult

REQUEST_ROWS = 5_000


class RemoteError(RuntimeError):
    """The server could not be reached or refused the request as a whole."""


class RemoteWriter:
    """`(kind, accepted) -> WriteResult`, like queries.writes.upsert but over HTTP, one request per slice."""

    def __init__(self, base_url: str, token: str, timeout: float = 120):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def __call__(self, kind: str, accepted: pd.DataFrame) -> WriteResult:
        result = WriteResult()
        for lo in range(0, len(accepted), REQUEST_ROWS):
            part = accepted.iloc[lo : lo + REQUEST_ROWS]
            answer = self._post(kind, _json_lines(part.drop(columns=["_row"])))
            result.written += answer["written"]
            result.held += answer["held"]
            result.linked += answer["linked"]
            rows = part["_row"].to_numpy()
            # the server numbers rows 1.. in the body; map back to the file's lines
            result.rejected += [
                Rejection(int(rows[r["index"] - 1]), r["field"], r["reason"]) for r in answer["rejected"]
            ]
        return result

    def _post(self, kind: str, body: bytes) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/api/v1/ingest/{kind}",
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                message = exc.reason
            raise RemoteError(f"the server refused the rows ({exc.code}): {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise RemoteError(f"cannot reach the server at {self.base_url}: {exc}") from None


def _json_lines(frame: pd.DataFrame) -> bytes:
    # Canonical rows: naive Beijing timestamps are written without an offset, which the server reads as Beijing.
    text = frame.to_json(orient="records", lines=True, date_format="iso", date_unit="us", force_ascii=False)
    return text.encode("utf-8")
