"""The GitCourse schema. Alembic migrations (migrations/versions) create it;
this module only describes it for the application and for autogenerate."""

import enum

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class UserRole(str, enum.Enum):
    student = "student"
    instructor = "instructor"
    admin = "admin"


user_role = sa.Enum(
    UserRole,
    name="user_role",
    values_callable=lambda roles: [r.value for r in roles],
)


def timestamps():
    """created_at and updated_at, both set by the database; a trigger
    (see the initial migration) bumps updated_at on every UPDATE."""
    return (
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
            server_onupdate=sa.FetchedValue(),
        ),
    )


class User(Base):
    __tablename__ = "users"
    id = sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    email = sa.Column(sa.String(320), nullable=False, unique=True)
    name = sa.Column(sa.String(200), nullable=False)
    role = sa.Column(user_role, nullable=False, server_default=UserRole.student.value)
    created_at, updated_at = timestamps()


class Course(Base):
    __tablename__ = "courses"
    id = sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    slug = sa.Column(sa.String(100), nullable=False, unique=True)
    title = sa.Column(sa.String(200), nullable=False)
    description = sa.Column(sa.Text, nullable=False, server_default="")
    instructor_id = sa.Column(sa.BigInteger, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at, updated_at = timestamps()


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (sa.UniqueConstraint("user_id", "course_id", name="enrollments_user_course_key"),)
    id = sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    user_id = sa.Column(sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    course_id = sa.Column(sa.BigInteger, sa.ForeignKey("courses.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at, updated_at = timestamps()
