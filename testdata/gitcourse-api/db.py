"""Database access for the GitCourse API: one SQLAlchemy engine, built
lazily from DATABASE_URL (postgres:// or postgresql:// URLs are accepted)."""

import os
from functools import lru_cache

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def database_url() -> str:
    """Returns DATABASE_URL in the form SQLAlchemy wants, or "" when unset."""
    url = os.environ.get("DATABASE_URL", "").strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


@lru_cache(maxsize=1)
def engine() -> Engine:
    url = database_url()
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, future=True)


@lru_cache(maxsize=1)
def _sessions() -> sessionmaker:
    return sessionmaker(bind=engine(), expire_on_commit=False, future=True)


def session() -> Session:
    """A new session; use it as a context manager."""
    return _sessions()()
