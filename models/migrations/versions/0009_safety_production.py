"""The safety-production side: the enterprise and place register, checklists and inspections,
the major-hazard dossier (plans, rechecks, notices), the risk register and its reports, grid
boundaries, and escalation claims for deadlines that are not a case's.

Revision ID: 0009_safety_production
Revises: 0008_self_service
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0009_safety_production"
down_revision: str | None = "0008_self_service"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checklist",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("industry", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("checklist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checklist_industry"), ["industry"], unique=False)

    op.create_table(
        "deadline_fire",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("fired_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "subject_id", "level", name="uq_deadline_fire"),
    )
    op.create_table(
        "enterprise",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("credit_code", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("grid_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("street_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("community_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("region_path", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("industry", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("scale", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("risk_level", sa.String(length=12), nullable=True),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
        sa.UniqueConstraint("credit_code"),
    )
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprise_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprise_industry"), ["industry"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enterprise_region_path"), ["region_path"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enterprise_street_code"), ["street_code"], unique=False
        )

    op.create_table(
        "grid_geometry",
        sa.Column("grid_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("grid_code"),
    )
    with op.batch_alter_table("grid_geometry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_geometry_min_lon"), ["min_lon"], unique=False)

    op.create_table(
        "risk_point",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("enterprise_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("measures", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("street_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("region_path", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_code"],
            ["enterprise.code"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"],
            ["unit.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("risk_point", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_point_enterprise_code"), ["enterprise_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_risk_point_level"), ["level"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_point_region_path"), ["region_path"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_risk_point_street_code"), ["street_code"], unique=False
        )

    op.create_table(
        "checklist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("category_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["category.code"],
        ),
        sa.ForeignKeyConstraint(
            ["checklist_code"],
            ["checklist.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("checklist_code", "code", name="uq_checklist_item"),
    )
    with op.batch_alter_table("checklist_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_item_checklist_code"), ["checklist_code"], unique=False
        )

    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("checklist_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("unannounced", sa.Boolean(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("grid_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("street_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("region_path", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("industry", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("hazards_found", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_code"],
            ["checklist.code"],
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_code"],
            ["enterprise.code"],
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inspection_enterprise_code"), ["enterprise_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_inspector_id"), ["inspector_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_region_path"), ["region_path"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inspection_street_code"), ["street_code"], unique=False
        )

    op.create_table(
        "risk_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("risk_point_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("enterprise_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("content", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("measures", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("street_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("region_path", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("reported_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("review_due_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_code"],
            ["enterprise.code"],
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["risk_point_code"],
            ["risk_point.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("risk_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_report_enterprise_code"), ["enterprise_code"], unique=False
        )
        batch_op.create_index("ix_risk_report_reported_at", ["reported_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_report_risk_point_code"), ["risk_point_code"], unique=False
        )
        batch_op.create_index("ix_risk_report_state_due", ["state", "review_due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_report_street_code"), ["street_code"], unique=False
        )

    op.create_table(
        "hazard_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("measures", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("funds", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("responsible", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("emergency_plan", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=False),
        sa.Column("submitted_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hazard_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_plan_case_id"), ["case_id"], unique=False)

    op.create_table(
        "inspection_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("result", sa.String(length=4), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspection.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inspection_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_item_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inspection_item_inspection_id"), ["inspection_id"], unique=False
        )

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("due_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_estimated", sa.Boolean(), nullable=False),
        sa.Column("published_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "type", name="uq_notice_case_type"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_due_at"), ["due_at"], unique=False)

    op.create_table(
        "recheck",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=4), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("by", sa.Integer(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["by"],
            ["user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recheck", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recheck_case_id"), ["case_id"], unique=False)

    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("enterprise_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(sa.Column("inspection_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_case_enterprise_code"), ["enterprise_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_inspection_id"), ["inspection_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_case_inspection_id_inspection", "inspection", ["inspection_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_case_enterprise_code_enterprise", "enterprise", ["enterprise_code"], ["code"]
        )


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_constraint("fk_case_enterprise_code_enterprise", type_="foreignkey")
        batch_op.drop_constraint("fk_case_inspection_id_inspection", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_case_inspection_id"))
        batch_op.drop_index(batch_op.f("ix_case_enterprise_code"))
        batch_op.drop_column("inspection_id")
        batch_op.drop_column("enterprise_code")

    with op.batch_alter_table("recheck", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recheck_case_id"))

    op.drop_table("recheck")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_due_at"))
        batch_op.drop_index(batch_op.f("ix_notice_case_id"))

    op.drop_table("notice")
    with op.batch_alter_table("inspection_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_item_inspection_id"))
        batch_op.drop_index(batch_op.f("ix_inspection_item_case_id"))

    op.drop_table("inspection_item")
    with op.batch_alter_table("hazard_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_plan_case_id"))

    op.drop_table("hazard_plan")
    with op.batch_alter_table("risk_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_report_street_code"))
        batch_op.drop_index("ix_risk_report_state_due")
        batch_op.drop_index(batch_op.f("ix_risk_report_risk_point_code"))
        batch_op.drop_index("ix_risk_report_reported_at")
        batch_op.drop_index(batch_op.f("ix_risk_report_enterprise_code"))

    op.drop_table("risk_report")
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_street_code"))
        batch_op.drop_index(batch_op.f("ix_inspection_region_path"))
        batch_op.drop_index(batch_op.f("ix_inspection_inspector_id"))
        batch_op.drop_index(batch_op.f("ix_inspection_enterprise_code"))
        batch_op.drop_index(batch_op.f("ix_inspection_at"))

    op.drop_table("inspection")
    with op.batch_alter_table("checklist_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_item_checklist_code"))

    op.drop_table("checklist_item")
    with op.batch_alter_table("risk_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_point_street_code"))
        batch_op.drop_index(batch_op.f("ix_risk_point_region_path"))
        batch_op.drop_index(batch_op.f("ix_risk_point_level"))
        batch_op.drop_index(batch_op.f("ix_risk_point_enterprise_code"))

    op.drop_table("risk_point")
    with op.batch_alter_table("grid_geometry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_geometry_min_lon"))

    op.drop_table("grid_geometry")
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_street_code"))
        batch_op.drop_index(batch_op.f("ix_enterprise_region_path"))
        batch_op.drop_index(batch_op.f("ix_enterprise_industry"))
        batch_op.drop_index(batch_op.f("ix_enterprise_grid_code"))

    op.drop_table("enterprise")
    op.drop_table("deadline_fire")
    with op.batch_alter_table("checklist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checklist_industry"))

    op.drop_table("checklist")
