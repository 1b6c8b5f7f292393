"""The Dataverse Web API beside /api/v1 on the same data, through the ASGI app in process (no
network), on SQLite and PostgreSQL: the median time of each request, with the equivalent
/api/v1 list page measured in the same run as the baseline (the ratio column). Prints numbers;
asserts nothing."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from common import console, migrate_and_seed, postgres_url
from oppflow.api.app import create_app

SCHEMA = "oppflow_bench_dataverse"
API = "/api/data/v9.2"
FILTER = (
    "(statecode eq 0 and estimatedvalue ge 10000) or "
    "(contains(name,'a') and not (closeprobability lt 20))"
)
REQUESTS = [
    ("GET /api/v1/opportunities?limit=50 (baseline)", "/api/v1/opportunities?limit=50", {}),
    ("GET opportunities?$top=50", f"{API}/opportunities?$top=50", {}),
    ("… $select of 3 columns", f"{API}/opportunities?$top=50&$select=name,estimatedvalue,stepname",
     {}),
    ("… $filter of 5 comparisons", f"{API}/opportunities?$top=50&$filter={FILTER}", {}),
    ("… $orderby estimatedvalue desc", f"{API}/opportunities?$top=50&$orderby=estimatedvalue desc",
     {}),
    ("… $expand parentaccountid", f"{API}/opportunities?$top=50&$expand=parentaccountid", {}),
    ("… $count=true", f"{API}/opportunities?$top=50&$count=true", {}),
    ("… maxpagesize=50, the third page", f"{API}/opportunities?$skiptoken=100",
     {"Prefer": "odata.maxpagesize=50"}),
]  # fmt: skip


def _median_ms(client: TestClient, path: str, headers: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return statistics.median(times) * 1000


def measure(factory: sessionmaker[Session], token: str, repeat: int) -> list[tuple[str, float]]:
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(factory)) as client:
        for _, path, extra in REQUESTS:  # warm the caches (actor, statements) once
            client.get(path, headers={**headers, **extra})
        return [
            (label, _median_ms(client, path, {**headers, **extra}, repeat))
            for label, path, extra in REQUESTS
        ]


def report(database: str, rows: list[tuple[str, float]]) -> None:
    baseline = rows[0][1]
    table = Table("request", "median ms", "× baseline", title=f"Dataverse API on {database}")
    for label, ms in rows:
        table.add_row(label, f"{ms:.2f}", f"{ms / baseline:.2f}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=31, help="Runs of each request.")
    parser.add_argument("--count", type=int, default=2000, help="Opportunities to seed.")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            seeded, factory = migrate_and_seed(f"sqlite:///{Path(directory) / 'b.db'}", args.count)
            report("SQLite", measure(factory, seeded.token, args.repeat))
            factory.kw["bind"].dispose()
    url = postgres_url(SCHEMA) if args.database in ("postgresql", "both") else None
    if url is not None:
        seeded, factory = migrate_and_seed(url, args.count)
        report("PostgreSQL", measure(factory, seeded.token, args.repeat))
        factory.kw["bind"].dispose()


if __name__ == "__main__":
    main()
