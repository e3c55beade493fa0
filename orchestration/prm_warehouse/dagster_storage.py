"""Dagster's SQLite event log, keeping one connection per database file open.

Dagster's ``SqliteEventLogStorage`` builds a new SQLAlchemy engine, opens a new SQLite
connection and disposes of both for every read and write of the event log. A build writes
some 1,500 events to its run's database and 700 to the index (a materialization, a check
evaluation, each planned asset and check), and each costs several such round trips: at 1x
about 15 s of CPU per build went to opening and closing SQLite files.

This storage keeps the same files, schema and locking (so ``dagster dev`` and every other
Dagster process read them as before) and reuses one engine per database file for the life
of the process. The connection is opened per thread (SQLAlchemy's ``SingletonThreadPool``);
SQLite in WAL mode lets other processes read and write the files in between, as with a
new connection each time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import SingletonThreadPool


def _relaxed_sync(dbapi_connection, _connection_record) -> None:
    """Sync the write-ahead log at checkpoints, not at every commit.

    In WAL mode this cannot corrupt the database; a power cut may lose the newest events of
    a run, which a rerun of the build writes again. It saves a disk flush per event.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma synchronous = normal")
    cursor.close()


# Database files (the index and the newest runs) whose engine a process keeps open. A build
# writes to two; a long-running `dagster dev` that shows many runs closes the oldest.
KEPT_ENGINES = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one engine per shard, kept for the process (at most
    ``KEPT_ENGINES``, the least recently used closed first)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
        else:
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=SingletonThreadPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            db.event.listen(engine, "connect", _relaxed_sync)
            self._engines[shard] = engine
            while len(self._engines) > KEPT_ENGINES:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
        return engine

    def has_table(self, table_name: str) -> bool:
        # Asked before every check evaluation and asset event; a table once there stays.
        if table_name in self._tables_seen:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_seen.add(table_name)
        return found

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, event logs, schedules under one folder) with the
    pooled event log. Configured in ``dagster.yaml`` as ``storage: custom:``."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(inst_data=inst_data, **config_value)
