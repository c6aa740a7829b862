"""The cohort counts of each filing day, kept by the database (migration 0015_dash).

One row per (Shanghai day of filing, kind, region path cut after its third '/', the street
level: "/district/street/") holding how many of those cases are in the case table now and, of
them, how many are cancelled, closed, and closed on time (closed_at <= due_at, or no deadline)
by their live columns. Triggers on the case table keep it in the same transaction as every
write (insert, update of the columns it reads, delete), so it always equals the GROUP BY of the
cases it stands for (tests/reports/test_cohort_days.py); the metrics' cohort by day
(queries.cohort_by_day) reads it where that is the same answer (closeloop/reports/metrics/
cohort_days.py). Never written by the application.
"""

from datetime import date

from sqlmodel import Field, SQLModel

# The region path is kept up to this many '/': "/", "/district/", "/district/street/". A scope
# whose region path has at most this many (and ends with '/') selects whole rows.
PATH_SLASHES = 3


def cohort_path(path: str) -> str:
    """The region path as the table keeps it: up to and including its PATH_SLASHES-th '/', or
    the whole path if it has fewer (the triggers' expression, in Python)."""
    end = -1
    for _ in range(PATH_SLASHES):
        end = path.find("/", end + 1)
        if end < 0:
            return path
    return path[: end + 1]


class CaseCohortDay(SQLModel, table=True):
    __tablename__ = "case_cohort_day"
    day: date = Field(primary_key=True)
    kind: str = Field(primary_key=True, max_length=10)
    path: str = Field(primary_key=True, max_length=400)
    reported: int = 0
    cancelled: int = 0
    closed: int = 0
    on_time: int = 0
