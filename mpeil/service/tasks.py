"""The tasks a scoring worker runs (:mod:`mpeil.service.workers`); each takes the worker's state
(engine with the library loaded once, signing key, stores) and a task dict, and returns a small dict.

The upload is a scratch file the server wrote; the worker reads it (at most the file-size limit),
scores it and commits the receipt to the store itself.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from ..readers.guards import read_bytes
from .signing import sign

__all__ = ["task_score", "task_score_many", "task_rescore", "task_report", "task_compare"]


def _input(task: dict, path: str | None = None, name: str | None = None) -> bytes:
    """The upload's bytes; an error names the uploaded file's name, never the scratch path."""
    from ..errors import MpeilError

    try:
        return read_bytes(Path(path or task["path"]), task["limits"])
    except MpeilError as error:
        error.file = name or task["name"]
        raise


def task_score(state, task: dict) -> dict:
    """Score an upload, sign and store its receipt (with the summary); the summary and receipt id."""
    data = _input(task)
    scored = state.engine.score(
        data, task["suffix"], task["name"], task["method"], task["options"], task["limits"]
    )  # fmt: skip
    return _keep(state, task, data, scored)


def task_score_many(state, task: dict) -> list[dict]:
    """Several ``score`` tasks of one method and options (a micro-batch of the pool), scored as one
    frame (:meth:`~mpeil.service.scoring.ScoringEngine.score_many`): one reply per task, in order,
    each ``{"ok": …}`` as :func:`task_score` gives it alone, or ``{"error": …}`` (its own refusal)."""
    from ..errors import MpeilError
    from .workers import error_reply

    members = task["tasks"]
    replies: list[dict | None] = [None] * len(members)
    read: list[tuple[int, bytes]] = []
    for i, member in enumerate(members):
        try:
            read.append((i, _input(member)))
        except MpeilError as error:
            replies[i] = error_reply(error)
    first = members[0]
    uploads = [(data, members[i]["suffix"], members[i]["name"]) for i, data in read]
    scored = state.engine.score_many(uploads, first["method"], first["options"], first["limits"])
    for (i, data), one in zip(read, scored, strict=True):
        try:
            replies[i] = (
                error_reply(one) if isinstance(one, MpeilError) else {"ok": _keep(state, members[i], data, one)}
            )
        except MpeilError as error:
            replies[i] = error_reply(error)
    return [reply for reply in replies if reply is not None]


def _keep(state, task: dict, data: bytes, scored) -> dict:
    """Sign and store a scored upload's receipt (with the summary); the summary and receipt id."""
    receipt = sign(scored.receipt, state.signing_key)
    store = state.store(task["store"])
    receipt_id = store.add_receipt(
        task["receipt_id"], task["owner"], task["name"], task["suffix"], data, receipt, task.get("claim"),
        summary=scored.summary,
    )  # fmt: skip
    if receipt_id != task["receipt_id"]:  # the same Idempotency-Key, sent twice at once: the first one's
        found = store.receipt(receipt_id)
        return {"receipt_id": receipt_id, "summary": found["summary"] if found else scored.summary, "buildings": 0}
    return {"receipt_id": receipt_id, "summary": scored.summary, "buildings": len(scored.summary["buildings"])}


def _stored_input(store, receipt_id: str) -> dict:
    from .workers import TaskFailed

    found = store.receipt(receipt_id)
    if found is None:
        raise TaskFailed("NotFound", "no such receipt", 404)
    if not found["input"]:
        raise TaskFailed(
            "InputDeleted", "the input of this anonymous receipt was deleted after the retention period", 410
        )
    return found


def task_rescore(state, task: dict) -> dict:
    """The receipt a stored input gives now (for ``/v1/verify``); nothing is stored."""
    found = _stored_input(state.store(task["store"]), task["receipt_id"])
    method = found["receipt"]["method"]
    scored = state.engine.score(
        found["input"], found["suffix"], found["name"], method["name"], method["options"], task["limits"]
    )
    return {"receipt": scored.receipt}


def task_report(state, task: dict) -> dict:
    """The report of a receipt: the stored one, or rendered once now from the stored input and stored."""
    store = state.store(task["store"])
    html = store.report(task["receipt_id"])
    if html is None:
        found = _stored_input(store, task["receipt_id"])
        method = found["receipt"]["method"]
        scored = state.engine.score(
            found["input"], found["suffix"], found["name"], method["name"], method["options"], task["limits"]
        )
        html = state.engine.report_html(scored.result)
        store.add_report(task["receipt_id"], zlib.compress(html.encode("utf-8"), 6))
    return {"html": html}


def task_compare(state, task: dict) -> dict:
    """Two variants scored together (``POST /v1/compare``); nothing is stored."""
    uploads = [(_input(task, path, name), suffix, name) for path, suffix, name in task["uploads"]]
    return state.engine.compare(uploads, task["method"], task["options"], task["limits"])
