"""The upload endpoint of a real server keeps only what the app's upload widget asked for, within bounds.

Unguarded, Streamlit 1.67 kept any PUT to ``/_stcore/upload_file/<own session>/<any id>`` in memory
until the session ended (300 PUTs of 10 MB: +3 GB). Now a file is kept only for an upload URL the
server handed to that session, at most ``server.maxUploadSize`` (the app's 5 MiB) each and
SESSION_UPLOAD_BYTES per session; the rest is refused with an HTTP status and never stored.
"""

from __future__ import annotations

import http.client
import re
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import StreamlitServer
from ws_session import WsSession, cache_entries

from gpt.runs import MAX_UPLOAD_BYTES
from ui.server_guards import SESSION_UPLOAD_BYTES
from ui.train_form import UPLOAD

pytestmark = pytest.mark.slow
MiB = 1024 * 1024


@pytest.fixture
def server(isolated_runs_dir: Path) -> Iterator[StreamlitServer]:
    server = StreamlitServer(isolated_runs_dir)
    yield server
    server.stop()


def xsrf_cookie(url: str) -> str:
    """The cookie a browser gets from the server; uploads must echo it in a header (XSRF protection)."""
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as response:
        cookies = response.headers.get_all("Set-Cookie") or []
    found = [re.match(r"_streamlit_xsrf=([^;]+)", c) for c in cookies]
    return next(m.group(1) for m in found if m)


def put(url: str, path: str, data: bytes, xsrf: str) -> int:
    """PUT one file as the upload widget does (multipart form); the HTTP status.

    A refused upload may be answered before its body is sent (the server reads Content-Length
    first and closes): the status is read even when sending the rest breaks off.
    """
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="corpus.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=60)
    try:
        connection.putrequest("PUT", path)
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("X-Xsrftoken", xsrf)
        connection.putheader("Cookie", f"_streamlit_xsrf={xsrf}")
        connection.endheaders()
        try:
            connection.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server has answered already
        return connection.getresponse().status
    finally:
        connection.close()


def bytes_held(url: str) -> int:
    """What the server's upload store holds, from its own metrics."""
    found = re.search(r'^cache_memory_bytes{cache_type="UploadedFileManager",cache=""} (\d+)', cache_entries(url), re.M)
    return int(found.group(1)) if found else 0


def test_uploads_nobody_asked_for_or_over_the_caps_are_refused_and_not_kept(server: StreamlitServer) -> None:
    xsrf = xsrf_cookie(server.url)
    with WsSession(server.url) as student:
        student.run("train")  # any page view arms the guards
        own = f"/_stcore/upload_file/{student.session_id}"
        assert put(server.url, f"{own}/{uuid.uuid4()}", b"x" * MiB, xsrf) == 403  # no widget asked for it
        first, second, third = (u.removeprefix(server.url) for u in student.request_upload_urls(3))
        assert put(server.url, first, b"x" * (MAX_UPLOAD_BYTES + 1), xsrf) == 413  # over server.maxUploadSize
        assert put(server.url, first, b"x" * (4 * MiB), xsrf) == 204
        assert put(server.url, second, b"x" * (4 * MiB), xsrf) == 204
        assert put(server.url, third, b"x" * (4 * MiB), xsrf) == 413  # over the session's share
        assert bytes_held(server.url) == 8 * MiB <= SESSION_UPLOAD_BYTES


def test_a_corpus_uploaded_through_the_train_pages_widget_still_arrives(server: StreamlitServer) -> None:
    xsrf = xsrf_cookie(server.url)
    text = "the cat sat on the mat. " * 400
    with WsSession(server.url) as teacher:
        teacher.run("train")
        teacher.run("train", strings={"w_train_corpus": UPLOAD})
        assert "train_upload" in teacher.widgets
        (upload_url,) = teacher.request_upload_urls(1)
        file_id = upload_url.rsplit("/", 1)[-1]
        assert put(server.url, upload_url.removeprefix(server.url), text.encode(), xsrf) == 204
        files = {"train_upload": [(file_id, "corpus.txt", len(text))]}
        teacher.run("train", strings={"w_train_corpus": UPLOAD}, files=files)
        shown = f"{len(text):,} characters, {len(set(text))} different characters"
        assert any(shown in t for t in teacher.texts), teacher.texts
