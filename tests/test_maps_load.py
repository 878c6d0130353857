"""A burst of first map views (#18, finding 4): 40 municipality pages asked at once, none cached yet, all answer,
while the other requests keep answering: map pages are built by a few map workers, not on the request threads and
connections everything else needs."""

from __future__ import annotations

import concurrent.futures as cf

import httpx
from sqlalchemy import text

from tests.served import serving


def test_forty_parallel_first_map_views_all_succeed_while_other_requests_answer(results):
    with results.engine.connect() as conn:
        codes = conn.execute(text("SELECT pro_com_t FROM ref.comune ORDER BY pro_com_t LIMIT 40")).scalars().all()
    with (
        serving(results.settings.database_url) as base,
        cf.ThreadPoolExecutor(48) as pool,
        httpx.Client(timeout=600, limits=httpx.Limits(max_connections=64)) as client,
    ):
        pages = [pool.submit(client.get, f"{base}/maps/municipality/{code}") for code in codes]
        others = [client.get(f"{base}/collections/municipalities/items/016024?f=json") for _ in range(5)]
        answers = [page.result() for page in pages]
    assert [a.status_code for a in answers] == [200] * 40
    assert all(code in answer.text for code, answer in zip(codes, answers, strict=True))  # each its own page
    assert [o.status_code for o in others] == [200] * 5
    assert all(o.json()["properties"]["comune"] == "Bergamo" for o in others)
