"""Reference rows (units, categories, regions) read in a transaction stay in its session until
the transaction ends.

The session's identity map holds its objects weakly: a unit looked up to check a dispatch and then
dropped was read again a moment later when the dispatch's notice looked the same unit up, and a
filing read its category's class twice (the active check, then the emergency check). Kept here,
the second `session.get` is answered from the identity map, no statement. They are dropped when
the transaction ends (commit, rollback, close), so a session that lives on (expire_on_commit is
off) reads them anew in its next transaction, as before. Only these small tables are kept: a
page or an export that reads many cases lets them go as it streams, as before.
"""

from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from models.org import Category, Region, Unit

KEPT = (Unit, Category, Region)
_KEY = "closeloop.reference_rows"


@event.listens_for(Session, "loaded_as_persistent")
def _keep(session: Session, instance: Any) -> None:
    if isinstance(instance, KEPT):
        session.info.setdefault(_KEY, []).append(instance)


@event.listens_for(Session, "after_transaction_end")
def _drop(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)
