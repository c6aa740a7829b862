"""Rows written by a Core statement instead of the unit of work, and the session told about them.

The unit of work's flush of one row costs several times the statement itself in Python, so the
busiest writes (an action's case UPDATE and history entry, filing's case INSERT, the outbox's
fan-out) run their own `INSERT`/`UPDATE` on the session's connection. Their objects must then be
left as a flush leaves them: persistent and in the identity map, every attribute committed, and
recorded in the transaction, so that a rollback — of a savepoint too — expunges a new object and
expires a changed one, as it does after a flush. `written` is that last step of a flush
(SQLAlchemy's `Session._register_persistent`, which this module alone calls), and `inserted`
builds the object of a new row without its class's `__init__` (SQLModel's validates every field:
~100 µs a row, more than the INSERT), as a query builds the objects it loads.
"""

from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, manager_of_class

T = TypeVar("T")


def written(session: Session, *objects: object) -> None:
    """The objects' rows were just written in the session's transaction (a new object added to
    the session with its id set, or a persistent one whose changes were written): left as the
    flush leaves them."""
    session._register_persistent({inspect(o) for o in objects})


def inserted(session: Session, cls: type[T], row: dict[str, Any]) -> T:
    """The object of a row just inserted in the session's transaction (`row`: every column,
    its id included), built as a query builds what it loads, and left as `written` leaves it."""
    obj: T = manager_of_class(cls).new_instance()
    instance_state(obj).dict.update(row)
    session.add(obj)
    written(session, obj)
    return obj
