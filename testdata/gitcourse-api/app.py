"""GitCourse API: the FastAPI backend that edge proxies in its tests.

Run (Debian's packages, not a virtualenv):

    DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db \
    /usr/bin/python3 -m uvicorn app:app --host 127.0.0.1 --port 8000 \
        --proxy-headers --forwarded-allow-ips=127.0.0.1

Endpoints (all under /api):
    GET  /api/health          liveness and a database round trip (503 if the database is down)
    GET  /api/courses         list courses (?limit=&offset=)
    POST /api/courses         create a course {"slug", "title", "description"?} -> 201
    GET  /api/courses/{id}    one course, 404 when missing
    GET  /api/echo            the request as this app received it (headers, client, port)
    GET  /api/slow?s=N        answers after N seconds (at most 120)
    GET  /api/slow/stats      {"now", "max", "total"}: /api/slow requests in flight, the most at once, all
    POST /api/auth/login      {"user", "password"}: 200 for password "right", else 401
    GET  /api/auth/attempts   {"attempts"}: login attempts this process saw
    GET  /api/events?n=&interval=   Server-Sent Events, one every interval seconds
    WS   /api/ws              WebSocket echo (text and binary)
    GET  /api/stream/blob?size=&seed=&length=   size pseudo-random bytes streamed in uneven pieces
                              (chunked, or with Content-Length when length=1); X-Sha256 and
                              X-Bytes name the whole body; HEAD too
    GET  /api/stream/cut?size=&after=&length=&how=   as blob, but the app stops after `after`
                              bytes: how=raise fails (uvicorn closes the connection), how=short
                              returns with the body incomplete
    GET  /api/stream/lines?n=&interval=   n JSON lines (application/x-ndjson, chunked), one every
                              interval seconds: a log or progress stream that is not SSE
    POST /api/upload/sha256   reads the request body: {"bytes", "sha256", "content_length",
                              "transfer_encoding"}
    POST /api/upload/refuse   401 at once, without reading the request body
    GET  /api/etag            a body with an ETag; 304 (Content-Length of the body, no body)
                              when If-None-Match names it
    GET  /api/nocontent       204
    GET  /api/boom            an unhandled exception: 500 from Starlette, then uvicorn closes the
                              connection (without "Connection: close" on the response)
"""

import asyncio
import hashlib
import json
import random
import os
from typing import List, Optional

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, constr

import db
from models import Course

app = FastAPI(title="GitCourse API", version="1.0", docs_url="/api/docs", openapi_url="/api/openapi.json")

INSTANCE = os.environ.get("INSTANCE", "")


class CourseIn(BaseModel):
    slug: constr(regex=r"^[a-z0-9][a-z0-9-]{0,99}$")
    title: constr(min_length=1, max_length=200)
    description: str = Field("", max_length=20000)


class CourseOut(BaseModel):
    id: int
    slug: str
    title: str
    description: str
    instructor_id: Optional[int]
    created_at: str
    updated_at: str


def course_out(c: Course) -> CourseOut:
    return CourseOut(
        id=c.id,
        slug=c.slug,
        title=c.title,
        description=c.description,
        instructor_id=c.instructor_id,
        created_at=c.created_at.isoformat(),
        updated_at=c.updated_at.isoformat(),
    )


def require_db():
    if not db.database_url():
        raise HTTPException(status_code=503, detail="database not configured (DATABASE_URL)")


@app.get("/api/health")
def health(response: Response):
    if not db.database_url():
        return {"status": "ok", "database": "not configured", "instance": INSTANCE}
    try:
        with db.engine().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # the cause goes to the log, a class name to the client
        print(f"health: database error: {exc}", flush=True)
        response.status_code = 503
        return {"status": "error", "database": type(exc).__name__, "instance": INSTANCE}
    return {"status": "ok", "database": "ok", "instance": INSTANCE}


@app.get("/api/courses", response_model=List[CourseOut])
def list_courses(limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)):
    require_db()
    with db.session() as s:
        rows = s.execute(sa.select(Course).order_by(Course.id).limit(limit).offset(offset)).scalars().all()
        return [course_out(c) for c in rows]


@app.post("/api/courses", response_model=CourseOut, status_code=201)
def create_course(body: CourseIn):
    require_db()
    with db.session() as s:
        course = Course(slug=body.slug, title=body.title, description=body.description)
        s.add(course)
        try:
            s.commit()
        except sa.exc.IntegrityError:
            s.rollback()
            raise HTTPException(status_code=409, detail=f"a course with slug {body.slug!r} exists")
        s.refresh(course)
        return course_out(course)


@app.get("/api/courses/{course_id}", response_model=CourseOut)
def get_course(course_id: int):
    require_db()
    with db.session() as s:
        course = s.get(Course, course_id)
        if course is None:
            raise HTTPException(status_code=404, detail="no such course")
        return course_out(course)


@app.get("/api/echo")
async def echo(request: Request):
    headers = {}
    for name, value in request.headers.items():
        headers.setdefault(name, []).append(value)
    client = request.client.host if request.client else None
    server = request.scope.get("server") or (None, None)
    return {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "scheme": request.url.scheme,
        "headers": headers,
        "client": client,
        "server_port": server[1],
        "instance": INSTANCE,
    }


SLOW = {"now": 0, "max": 0, "total": 0}


@app.get("/api/slow")
async def slow(s: float = Query(1.0, ge=0, le=120)):
    SLOW["now"] += 1
    SLOW["total"] += 1
    SLOW["max"] = max(SLOW["max"], SLOW["now"])
    try:
        await asyncio.sleep(s)
    finally:
        SLOW["now"] -= 1
    return {"slept": s}


@app.get("/api/slow/stats")
async def slow_stats():
    return dict(SLOW)


class LoginIn(BaseModel):
    user: str = ""
    password: str = ""


LOGINS = {"attempts": 0}


@app.post("/api/auth/login")
async def login(body: LoginIn):
    LOGINS["attempts"] += 1
    if body.password != "right":
        raise HTTPException(status_code=401, detail="wrong user or password")
    return {"user": body.user, "token": "t-" + body.user}


@app.get("/api/auth/attempts")
async def login_attempts():
    return dict(LOGINS)


@app.get("/api/events")
async def events(n: int = Query(5, ge=1, le=1000), interval: float = Query(0.5, ge=0, le=60)):
    async def stream():
        for i in range(1, n + 1):
            if i > 1:
                await asyncio.sleep(interval)
            payload = json.dumps({"n": i, "of": n, "instance": INSTANCE})
            yield f"id: {i}\nevent: tick\ndata: {payload}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@app.websocket("/api/ws")
async def ws_echo(ws: WebSocket):
    await ws.accept()
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("text") is not None:
                await ws.send_text(msg["text"])
            elif msg.get("bytes") is not None:
                await ws.send_bytes(msg["bytes"])
    except WebSocketDisconnect:
        return


# Piece sizes of the streamed bodies: uneven, around the 4 KiB and 16 KiB
# buffer sizes of proxies and past the 32 KiB copy buffers.
PIECES = [1, 2, 3, 10, 4095, 4096, 4097, 16383, 16385, 65536, 7, 32773, 100003, 250000]


def blob(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def pieces(data: bytes):
    i, k = 0, 0
    while i < len(data):
        n = PIECES[k % len(PIECES)]
        yield data[i:i + n]
        i, k = i + n, k + 1


def blob_headers(data: bytes, length: bool) -> dict:
    h = {"X-Sha256": hashlib.sha256(data).hexdigest(), "X-Bytes": str(len(data))}
    if length:
        h["Content-Length"] = str(len(data))
    return h


@app.api_route("/api/stream/blob", methods=["GET", "HEAD"])
async def stream_blob(size: int = Query(3_000_000, ge=0, le=64_000_000), seed: int = 1, length: bool = False):
    data = blob(size, seed)

    async def stream():
        for p in pieces(data):
            yield p
            await asyncio.sleep(0)

    return StreamingResponse(stream(), media_type="application/octet-stream", headers=blob_headers(data, length))


@app.get("/api/stream/lines")
async def stream_lines(n: int = Query(3, ge=1, le=1000), interval: float = Query(0.5, ge=0, le=60)):
    async def stream():
        for i in range(1, n + 1):
            if i > 1:
                await asyncio.sleep(interval)
            yield json.dumps({"line": i, "of": n}) + "\n"

    return StreamingResponse(stream(), media_type="application/x-ndjson")


class CutShort(Exception):
    pass


@app.get("/api/stream/cut")
async def stream_cut(size: int = Query(1_000_000, ge=1, le=64_000_000), after: int = Query(300_000, ge=0),
                     seed: int = 2, length: bool = False, how: str = Query("raise", regex="^(raise|short)$")):
    data = blob(size, seed)

    async def stream():
        for p in pieces(data[:after]):
            yield p
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)  # the bytes so far leave before the failure
        if how == "raise":
            raise CutShort(f"stopped after {after} of {size} bytes")

    return StreamingResponse(stream(), media_type="application/octet-stream", headers=blob_headers(data, length))


@app.post("/api/upload/sha256")
async def upload_sha256(request: Request):
    h = hashlib.sha256()
    n = 0
    async for piece in request.stream():
        h.update(piece)
        n += len(piece)
    return {
        "bytes": n,
        "sha256": h.hexdigest(),
        "content_length": request.headers.get("content-length"),
        "transfer_encoding": request.headers.get("transfer-encoding"),
    }


@app.post("/api/upload/refuse")
async def upload_refuse():
    return JSONResponse({"detail": "uploads need a token"}, status_code=401)


ETAG_BODY = json.dumps({"course": "git-basics", "revision": 1}).encode()
ETAG = '"gc-' + hashlib.sha256(ETAG_BODY).hexdigest()[:16] + '"'


@app.get("/api/etag")
async def etag(request: Request):
    if request.headers.get("if-none-match") == ETAG:
        # A 304 may carry the Content-Length a 200 would have: no body follows.
        return Response(status_code=304, headers={"ETag": ETAG, "Content-Length": str(len(ETAG_BODY))})
    return Response(ETAG_BODY, media_type="application/json", headers={"ETag": ETAG})


@app.get("/api/nocontent")
async def nocontent():
    return Response(status_code=204)


@app.get("/api/boom")
async def boom():
    raise RuntimeError("boom")


@app.exception_handler(404)
async def not_found(request: Request, exc):
    detail = getattr(exc, "detail", "not found")
    return JSONResponse({"detail": detail}, status_code=404)
