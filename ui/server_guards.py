"""What no client may do to the others: clear the shared caches, or fill the server's memory with uploads.

Streamlit 1.67 lets any websocket client do both (checked in its source, see below), so
``install()`` changes two of its behaviours for this process. ``ui.state.init()`` calls it first
thing on every page; it acts once. Until the first page has run anywhere (a server nobody has
opened yet) Streamlit's defaults apply: the teacher opening the app once arms both guards.

1. ``clear_cache``: ``AppSession._handle_clear_cache_request`` (a ``BackMsg(clear_cache=True)``,
   which any client can send, not only the hidden menu) clears ``st.cache_data`` and
   ``st.cache_resource`` for every user. Here it only clears the sender's own session state:
   models stay loaded for everybody. To clear the shared caches, restart the server.
2. Uploads: ``PUT /_stcore/upload_file/<session>/<file id>`` kept any file for any file id in
   memory until the session ended. ``BoundedUploads`` keeps only files whose id this server
   handed out to that session for an upload widget, at most SESSION_UPLOAD_BYTES per session and
   SERVER_UPLOAD_BYTES in all; others get HTTP 403 or 413. The size of one file is capped by
   ``server.maxUploadSize`` in ``.streamlit/config.toml`` (the app's MAX_UPLOAD_BYTES).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec, UploadFileUrlInfo

from gpt.runs import MAX_UPLOAD_BYTES

SESSION_UPLOAD_BYTES = 2 * MAX_UPLOAD_BYTES  # one corpus, and the next one before the browser drops the old
SERVER_UPLOAD_BYTES = 32 * MAX_UPLOAD_BYTES  # a class uploading at once
ISSUED_IDS_PER_SESSION = 8  # upload URLs a session may hold unused (the app has one single-file uploader)

_LOGGER = logging.getLogger(__name__)
_INSTALL_LOCK = threading.Lock()
_installed = False


class BoundedUploads(MemoryUploadedFileManager):
    """Streamlit's in-memory upload store, keeping only files an upload widget asked for, in bounds."""

    def arm(self) -> None:
        """Add the bookkeeping to Streamlit's own object (made before this class was chosen)."""
        self._issued: dict[str, deque[str]] = {}
        self._guard = threading.Lock()

    def get_upload_urls(self, session_id: str, file_names: Sequence[str]) -> list[UploadFileUrlInfo]:
        infos = super().get_upload_urls(session_id, list(file_names)[:ISSUED_IDS_PER_SESSION])
        with self._guard:
            issued = self._issued.setdefault(session_id, deque(maxlen=ISSUED_IDS_PER_SESSION))
            issued.extend(info.file_id for info in infos)
        return infos

    def add_file(self, session_id: str, file: UploadedFileRec) -> None:
        with self._guard:
            if file.file_id not in self._issued.get(session_id, ()):
                raise HTTPException(status_code=403, detail="No upload widget of this session asked for this file.")
            with self._lock:  # the parent's own lock over its storage
                held = self.file_storage.get(session_id, {})
                replaced = len(held[file.file_id].data) if file.file_id in held else 0
                session_bytes = sum(len(f.data) for f in held.values()) - replaced
                server_bytes = self._total_bytes - replaced
            if session_bytes + len(file.data) > SESSION_UPLOAD_BYTES:
                raise HTTPException(status_code=413, detail="This session already holds its share of uploads.")
            if server_bytes + len(file.data) > SERVER_UPLOAD_BYTES:
                raise HTTPException(status_code=413, detail="The server holds too many uploads; try again later.")
            super().add_file(session_id, file)

    def remove_session_files(self, session_id: str) -> None:
        super().remove_session_files(session_id)
        with self._guard:
            self._issued.pop(session_id, None)


def _clear_own_session_state_only(self) -> None:  # replaces AppSession._handle_clear_cache_request
    """A client's "clear cache": this session forgets its own state; the shared caches stay."""
    self._session_state.clear()


def _guard_clear_cache() -> None:
    from streamlit.runtime.app_session import AppSession

    if not hasattr(AppSession, "_handle_clear_cache_request"):
        _LOGGER.warning("Streamlit has no clear_cache handler to guard; check ui/server_guards.py")
        return
    AppSession._handle_clear_cache_request = _clear_own_session_state_only


def _guard_uploads() -> None:
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return  # AppTest and bare mode: no upload endpoint
    uploads = Runtime.instance().uploaded_file_mgr
    # The upload routes hold this very object, so it cannot be replaced: it becomes a BoundedUploads.
    if type(uploads) is MemoryUploadedFileManager:
        BoundedUploads.arm(uploads)  # before the switch: a request may come in at any moment
        uploads.__class__ = BoundedUploads
    elif not isinstance(uploads, BoundedUploads):  # AppTest's stand-in, or a future Streamlit's own
        _LOGGER.info("Upload manager %r left as it is: uploads are not bounded per session", type(uploads))


def install() -> None:
    """Arm both guards for this server process (once; later calls return at once)."""
    global _installed
    if _installed:
        return
    with _INSTALL_LOCK:
        if not _installed:
            _guard_clear_cache()
            _guard_uploads()
            _installed = True
