"""unit_of_work(): the ONLY place that commits.

Use it around every service call that changes data, in views, the API, the CLI and
the indexer: `with unit_of_work(): create_party(actor, ...)`. Units nest: an inner
unit joins the outer one and only the outermost commits, so several service calls
can form one transaction (a document row and its index job, a change and its audit
event). On any exception the whole unit rolls back and the exception propagates.

Do not use it for read-only work (reading needs no commit), and never call
`session.commit()` anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from portal.extensions import db

_DEPTH = "uow_depth"


@contextmanager
def unit_of_work() -> Iterator[Session]:
    session = db.session
    depth = session.info.get(_DEPTH, 0)
    session.info[_DEPTH] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
        else:
            session.flush()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info[_DEPTH] = depth
