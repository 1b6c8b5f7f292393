"""The floor of ``bench/load.py``: a FastAPI app of the installed versions with one endpoint that
returns a small JSON object; no middleware, no database. Served like the product, by
``bench/common.py`` (``uvicorn bare:app`` or ``granian bare:app`` with ``bench/`` on the path).
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root() -> dict[str, str]:
    return {"status": "ok"}
