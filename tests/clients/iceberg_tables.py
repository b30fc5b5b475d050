"""Builds Iceberg tables with pyiceberg for glaux's Iceberg tests, and
prints what pyiceberg itself reads from them, as JSON on stdout.

Usage: iceberg_tables.py <work dir> [glue <moto endpoint>]

The table lake.events (format v2, partitioned by day(ts)) goes through:
  1-2. two appends;
  3.   a copy-on-write delete (pyiceberg rewrites the files it touches);
  4.   a merge-on-read delete: a position delete file over one data file
       (pyiceberg does not write these, so this script commits one with
       pyiceberg's manifest writer);
  5.   schema evolution: add `country`, rename `note` to `comment`, drop
       `extra`, then an append;
  6.   spec evolution: add bucket(4, user_id), then an append;
  7.   a merge-on-read delete by equality on id, in one partition;
then a column `late` is added, with no snapshot after it.
For every snapshot the JSON holds its id, commit time, columns, and
pyiceberg's answer at that snapshot (pyiceberg does not apply equality
deletes, so step 7's is step 6's without the deleted ids): the row count, sum(id) and an
order-independent hash of the ids, sum((id * 2654435761) % 4294967296).
"""

import datetime
import io
import json
import os
import sys
import time
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestWriterV2,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import _FastAppendFiles
from pyiceberg.transforms import BucketTransform, DayTransform
from pyiceberg.types import DoubleType, IntegerType, LongType, NestedField, StringType, TimestampType

HASH = 2654435761
MOD = 4294967296


def rows(first, last, with_extra=True, country=None):
    ids = list(range(first, last + 1))
    start = datetime.datetime(2024, 3, 1)
    columns = {
        "id": pa.array(ids, pa.int64()),
        "user_id": pa.array([i % 7 for i in ids], pa.int32()),
        "amount": pa.array([i * 1.5 for i in ids], pa.float64()),
        "ts": pa.array([start + datetime.timedelta(hours=i) for i in ids], pa.timestamp("us")),
        "note": pa.array([f"row {i}" for i in ids], pa.string()),
    }
    if with_extra:
        columns["extra"] = pa.array([i * 10 for i in ids], pa.int32())
    if country is not None:
        columns["country"] = pa.array([country] * len(ids), pa.string())
    return pa.table(columns)


def answer(table, snapshot_id):
    data = table.scan(snapshot_id=snapshot_id).to_arrow()
    ids = data.column("id").to_pylist()
    return {
        "count": len(ids),
        "sum_id": sum(ids),
        "hash": sum((i * HASH) % MOD for i in ids),
    }


class DeleteManifestWriter(ManifestWriterV2):
    """A format-v2 manifest of delete files."""

    def content(self):
        return ManifestContent.DELETES

    @property
    def _meta(self):
        return {**super()._meta, "content": "deletes"}


class AddDeletes(_FastAppendFiles):
    """A snapshot adding position delete files (a row delta)."""

    def __init__(self, table, transaction, deletes):
        super().__init__(operation=Operation.DELETE, transaction=transaction, io=table.io)
        self._deletes = deletes
        for f in deletes:
            self.append_data_file(f)

    def _manifests(self):
        metadata = self._transaction.table_metadata
        with DeleteManifestWriter(
            spec=metadata.spec(),
            schema=metadata.schema(),
            output_file=self.new_manifest_output(),
            snapshot_id=self._snapshot_id,
            avro_compression=self._compression,
        ) as writer:
            for f in self._deletes:
                writer.add(
                    ManifestEntry.from_args(
                        status=ManifestEntryStatus.ADDED,
                        snapshot_id=self._snapshot_id,
                        sequence_number=None,
                        file_sequence_number=None,
                        data_file=f,
                    )
                )
        return [writer.to_manifest_file()] + self._existing_manifests()


def commit_deletes(table, rows, target, content, **extra):
    """Writes `rows` as a delete file of `content` in the partition of the
    data file `target`, and commits a snapshot adding it."""
    buffer = io.BytesIO()
    pq.write_table(rows, buffer)
    data = buffer.getvalue()
    delete_path = f"{table.location()}/data/deletes-{uuid.uuid4()}.parquet"
    with table.io.new_output(delete_path).create() as out:
        out.write(data)
    delete_file = DataFile.from_args(
        content=content,
        file_path=delete_path,
        file_format=FileFormat.PARQUET,
        partition=target.partition,
        record_count=rows.num_rows,
        file_size_in_bytes=len(data),
        spec_id=target.spec_id,
        **extra,
    )
    with table.transaction() as tx:
        producer = AddDeletes(table, tx, [delete_file])
        tx._apply(*producer._commit())


def position_delete(table):
    """Deletes the rows with id % 3 == 0 of one data file, by position."""
    target = next(task.file for task in table.scan().plan_files() if not task.delete_files)
    path = target.file_path
    with table.io.new_input(path).open() as f:
        ids = pq.read_table(f, columns=["id"]).column("id").to_pylist()
    positions = [p for p, i in enumerate(ids) if i % 3 == 0]
    schema = pa.schema(
        [
            pa.field("file_path", pa.string(), nullable=False, metadata={"PARQUET:field_id": "2147483546"}),
            pa.field("pos", pa.int64(), nullable=False, metadata={"PARQUET:field_id": "2147483545"}),
        ]
    )
    deletes = pa.table({"file_path": [path] * len(positions), "pos": positions}, schema=schema)
    commit_deletes(table, deletes, target, DataFileContent.POSITION_DELETES)
    return len(positions)


def equality_delete(table):
    """Deletes, by equality on id, the even ids of the file of the last
    append that has most (a delete file in that file's partition); returns
    those ids."""
    spec_id = table.spec().spec_id
    candidates = []
    for task in table.scan().plan_files():
        if task.delete_files or task.file.spec_id != spec_id:
            continue
        with table.io.new_input(task.file.file_path).open() as f:
            ids = pq.read_table(f, columns=["id"]).column("id").to_pylist()
        candidates.append((sorted(i for i in ids if i % 2 == 0), task.file.file_path, task.file))
    doomed, _, target = max(candidates, key=lambda c: (len(c[0]), c[1]))
    schema = pa.schema([pa.field("id", pa.int64(), nullable=True, metadata={"PARQUET:field_id": "1"})])
    deletes = pa.table({"id": doomed}, schema=schema)
    commit_deletes(table, deletes, target, DataFileContent.EQUALITY_DELETES, equality_ids=[1])
    # Ids in files of this (newer) spec in other partitions, which no
    # delete file touches: a DELETE of them must give its delete files
    # this spec.
    clean = [i for ids, path, f in candidates if f.partition != target.partition for i in ids]
    return doomed, sorted(clean)[:3]


def open_catalog(work, args):
    """A SqlCatalog under `work`, or (`glue <endpoint>`) AWS Glue and S3
    served by moto at the endpoint, with the warehouse in bucket `lake`."""
    if args[:1] == ["glue"]:
        from pyiceberg.catalog.glue import GlueCatalog

        endpoint = args[1]
        return GlueCatalog(
            "glue",
            **{
                "glue.endpoint": endpoint,
                "glue.region": "us-east-1",
                "glue.access-key-id": "test",
                "glue.secret-access-key": "test",
                "s3.endpoint": endpoint,
                "s3.region": "us-east-1",
                "s3.access-key-id": "test",
                "s3.secret-access-key": "test",
                "warehouse": "s3://lake/warehouse",
                # pyarrow's S3 client completes uploads in a way moto
                # refuses; s3fs writes plain PUTs.
                "py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO",
            },
        )
    warehouse = os.path.join(work, "warehouse")
    os.makedirs(warehouse, exist_ok=True)
    return SqlCatalog("fixture", uri=f"sqlite:///{work}/pyiceberg.db", warehouse=f"file://{warehouse}")


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    catalog = open_catalog(work, sys.argv[2:])
    catalog.create_namespace("lake")
    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "user_id", IntegerType(), required=False),
        NestedField(3, "amount", DoubleType(), required=False),
        NestedField(4, "ts", TimestampType(), required=False),
        NestedField(5, "note", StringType(), required=False),
        NestedField(6, "extra", IntegerType(), required=False),
    )
    spec = PartitionSpec(PartitionField(source_id=4, field_id=1000, transform=DayTransform(), name="ts_day"))
    table = catalog.create_table("lake.events", schema=schema, partition_spec=spec)
    steps = []

    def record(what):
        time.sleep(0.05)
        table.refresh()
        snap = table.current_snapshot()
        columns = [f.name for f in table.metadata.schema_by_id(snap.schema_id).fields]
        steps.append(
            {
                "what": what,
                "snapshot_id": snap.snapshot_id,
                "timestamp_ms": snap.timestamp_ms,
                "columns": columns,
                **answer(table, snap.snapshot_id),
            }
        )
        time.sleep(0.05)

    table.append(rows(1, 100))
    record("append 1-100")
    table.append(rows(101, 200))
    record("append 101-200")
    table.delete("id <= 30")
    record("copy-on-write delete of id <= 30")
    removed = position_delete(table)
    record(f"position delete of {removed} rows")
    with table.update_schema() as update:
        update.add_column("country", StringType())
        update.rename_column("note", "comment")
        update.delete_column("extra")
    batch = rows(201, 260, with_extra=False, country="NZ").rename_columns(
        ["id", "user_id", "amount", "ts", "comment", "country"]
    )
    table.append(batch)
    record("schema evolution, append 201-260")
    with table.update_spec() as update:
        update.add_field("user_id", BucketTransform(4), "user_bucket")
    batch = rows(261, 300, with_extra=False, country="AU").rename_columns(
        ["id", "user_id", "amount", "ts", "comment", "country"]
    )
    table.append(batch)
    record("spec evolution, append 261-300")

    # pyiceberg does not apply equality deletes: this snapshot's answer is
    # the previous one without the deleted ids.
    before = table.scan().to_arrow()
    doomed, clean = equality_delete(table)
    current = before.filter(pc.invert(pc.is_in(before.column("id"), pa.array(doomed, pa.int64()))))
    time.sleep(0.05)
    table.refresh()
    snap = table.current_snapshot()
    kept = current.column("id").to_pylist()
    steps.append(
        {
            "what": f"equality delete of {len(doomed)} ids",
            "snapshot_id": snap.snapshot_id,
            "timestamp_ms": snap.timestamp_ms,
            "columns": [f.name for f in table.metadata.schema_by_id(snap.schema_id).fields],
            "count": len(kept),
            "sum_id": sum(kept),
            "hash": sum((i * HASH) % MOD for i in kept),
        }
    )
    # A schema change with no snapshot after it: the current schema is
    # newer than the current snapshot's.
    with table.update_schema() as update:
        update.add_column("late", StringType())
    table.refresh()
    files = table.inspect.files().to_pylist()
    inspect = {
        "snapshots": [r["snapshot_id"] for r in table.inspect.snapshots().sort_by("committed_at").to_pylist()],
        "history": [r["snapshot_id"] for r in table.inspect.history().to_pylist()],
        "files": [len(files), sum(f["record_count"] for f in files), sum(f["file_size_in_bytes"] for f in files)],
        "delete_files": len([f for f in files if f["content"] != 0]),
        "manifests": len(table.inspect.manifests()),
        "partitions": len(table.inspect.partitions()),
        "refs": [[r["name"], r["type"], r["snapshot_id"]] for r in table.inspect.refs().to_pylist()],
    }
    print(
        json.dumps(
            {
                "metadata_location": table.metadata_location,
                "newer_spec_ids": sorted(clean)[:3],
                "location": table.location(),
                "snapshots": steps,
                "inspect": inspect,
                "current_columns": [f.name for f in table.schema().fields],
                "current_day_count": len(
                    current.filter(pc.equal(pc.cast(current.column("ts"), pa.date32()), datetime.date(2024, 3, 5)))
                ),
            }
        )
    )


main()
