"""Builds the Iceberg table bench/iceberg.sh queries: lake.events under
<dir>/warehouse, partitioned by day(ts), written by pyiceberg in SNAPSHOTS
appends of FILES data files each, every file in its own day (so a one-day
filter needs exactly one file of SNAPSHOTS * FILES). Each row carries a
200-byte `payload` the benchmark query does not read.

Usage: iceberg_table.py <dir> [SNAPSHOTS] [FILES] [ROWS per file, at most 86400]
Prints JSON: metadata_location, location, the snapshot ids in order, and
the day (YYYY-MM-DD) of the first file of the last snapshot.
"""

import datetime
import json
import os
import sys

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform
from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestampType

EPOCH = datetime.datetime(2000, 1, 1)


def main():
    work = sys.argv[1]
    snapshots = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    warehouse = os.path.join(work, "warehouse")
    os.makedirs(warehouse, exist_ok=True)
    catalog = SqlCatalog("bench", uri=f"sqlite:///{work}/pyiceberg.db", warehouse=f"file://{warehouse}")
    catalog.create_namespace("lake")
    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "ts", TimestampType(), required=False),
        NestedField(3, "amount", DoubleType(), required=False),
        NestedField(4, "payload", StringType(), required=False),
    )
    spec = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=DayTransform(), name="ts_day"))
    table = catalog.create_table("lake.events", schema=schema, partition_spec=spec)
    arrow_schema = pa.schema(
        [("id", pa.int64()), ("ts", pa.timestamp("us")), ("amount", pa.float64()), ("payload", pa.string())]
    )
    ids = []
    next_id = 0
    for s in range(snapshots):
        n = files * rows
        day = [s * files + i // rows for i in range(n)]
        batch = pa.table(
            {
                "id": list(range(next_id, next_id + n)),
                "ts": [EPOCH + datetime.timedelta(days=d, seconds=i % rows) for i, d in enumerate(day)],
                "amount": [float(i % 1000) for i in range(n)],
                "payload": [os.urandom(100).hex() for _ in range(n)],
            },
            schema=arrow_schema,
        )
        next_id += n
        table.append(batch)
        ids.append(table.current_snapshot().snapshot_id)
    last_day = EPOCH + datetime.timedelta(days=(snapshots - 1) * files)
    print(
        json.dumps(
            {
                "metadata_location": table.metadata_location,
                "location": table.location(),
                "snapshots": ids,
                "last_snapshot_first_day": last_day.date().isoformat(),
            }
        )
    )


if __name__ == "__main__":
    main()
