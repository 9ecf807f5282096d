"""Search every service database (every text, json and bytea column of every table) and
every topic of the catalogue (keys, values, headers) for given strings.

Used after the end-to-end story to show where its people's NIKs, names and phone numbers
sit in clear. A needle is searched as UTF-8 text; bytea columns are searched for its bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from lindung_shared.events import TOPICS
from lindung_shared.kafka.security import kafka_security
from lindung_shared.manifest import installed_services
from lindung_shared.settings import ServiceSettings, with_database

_COLUMNS = """
    SELECT c.table_name, c.column_name, c.data_type
    FROM information_schema.columns c
    JOIN information_schema.tables t
      ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea',
                          'ARRAY', 'USER-DEFINED')
    ORDER BY 1, 2
"""

#: where -> {label: needles found there}, where is "database.table.column" or "topic:name".
Findings = dict[str, set[str]]


async def search_databases(needles: Mapping[str, str]) -> Findings:
    """``needles``: needle -> label (e.g. "nik", "name", "phone", "person-id")."""
    settings = ServiceSettings()
    found: Findings = defaultdict(set)
    values = list(needles)
    for manifest in installed_services():
        dsn = with_database(settings.database_url, manifest.database_name)
        conn = await asyncpg.connect(dsn)
        try:
            for table, column, data_type in await conn.fetch(_COLUMNS):
                q_table, q_column = _ident(table), _ident(column)
                if data_type == "bytea":
                    expression = f"encode({q_column}, 'hex')"
                    patterns = [v.encode().hex() for v in values]
                else:
                    expression = f"{q_column}::text"
                    patterns = values
                hits = await conn.fetch(
                    f"SELECT i FROM generate_subscripts($1::text[], 1) AS i "
                    f"WHERE EXISTS (SELECT 1 FROM {q_table} "
                    f"WHERE strpos({expression}, ($1::text[])[i]) > 0)",
                    patterns,
                )
                for (index,) in hits:
                    needle = values[index - 1]
                    found[f"{manifest.database_name}.{table}.{column}"].add(needles[needle])
        finally:
            await conn.close()
    return dict(found)


async def search_topics(
    needles: Mapping[str, str], topics: Iterable[str] | None = None
) -> Findings:
    """Read every topic from its start to its current end and look in keys, values, headers."""
    found: Findings = defaultdict(set)
    for topic in topics or TOPICS:
        labels = await _search_topic(topic, needles)
        if labels:
            found[f"topic:{topic}"] = labels
    return dict(found)


async def _search_topic(topic: str, needles: Mapping[str, str]) -> set[str]:
    # One consumer per topic: a re-assigned consumer can keep fetches of the previous one.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=ServiceSettings().kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_poll_records=2000,
        **kafka_security(),
    )
    await consumer.start()
    found: set[str] = set()
    encoded = [(n.encode(), label) for n, label in needles.items()]
    try:
        # The partitions from a metadata answer read here (the consumer's own cached metadata
        # only covers topics it has been asked about, and was found empty at times, which
        # silently skipped the topic). A catalogue topic without partitions is an error.
        partitions: set[int] = set()
        deadline = time.monotonic() + 30
        while not partitions:
            metadata = await consumer._client.fetch_all_metadata()
            partitions = metadata.partitions_for_topic(topic) or set()
            if not partitions:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no partitions known for topic {topic}")
                await asyncio.sleep(0.5)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > await consumer.position(tp)}
        deadline = time.monotonic() + 60
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end: {remaining}")
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    blob = b"\0".join(
                        [record.key or b"", record.value or b"", *(v for _, v in record.headers)]
                    )
                    found.update(label for needle, label in encoded if needle in blob)
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
