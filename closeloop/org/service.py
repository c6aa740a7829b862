"""The organisation: regions, units, categories and users (admin). The front door: the API,
the pages, the command line and the other domains call these, never the modules behind them."""

from closeloop.org.categories import (
    category_usage,
    create_category,
    list_categories,
    update_category,
)
from closeloop.org.categories import public as category_public
from closeloop.org.common import EMAIL, Batch
from closeloop.org.regions import (
    PARENT_LEVEL,
    create_region,
    district_of,
    list_regions,
    region_tree,
    update_region,
)
from closeloop.org.robots import infer_kind
from closeloop.org.units import (
    create_unit,
    list_units,
    open_case_count,
    serves,
    unit_usage,
    units_for,
    update_unit,
)
from closeloop.org.users import (
    create_user,
    get_user,
    is_locked,
    list_users,
    locked_users,
    reset_password,
    unlock_user,
    update_user,
)

__all__ = [
    "EMAIL",
    "Batch",
    "PARENT_LEVEL",
    "category_public",
    "category_usage",
    "create_category",
    "create_region",
    "create_unit",
    "create_user",
    "district_of",
    "get_user",
    "infer_kind",
    "is_locked",
    "locked_users",
    "list_categories",
    "list_regions",
    "list_units",
    "list_users",
    "open_case_count",
    "region_tree",
    "reset_password",
    "serves",
    "unit_usage",
    "units_for",
    "unlock_user",
    "update_category",
    "update_region",
    "update_unit",
    "update_user",
]
