"""A Streamlit session driven over the raw websocket, as a browser (or an attacker's script) drives it.

It speaks Streamlit's own protocol (BackMsg/ForwardMsg protobufs, see bench/load.py): run a page,
click a button by its key, send any BackMsg (``clear_cache``, ``file_urls_request``), and read
what came back: widget ids, texts, the session id, the upload URLs the server handed out.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import ClientConnection, connect

TEXT_ELEMENTS = ("markdown", "alert", "heading", "metric")


@dataclass
class WsSession:
    url: str  # http://127.0.0.1:<port>
    session_id: str = ""
    page_hash: str = ""
    widgets: dict[str, str] = field(default_factory=dict)  # widget key -> widget id
    texts: list[str] = field(default_factory=list)  # the last run's text elements
    upload_urls: list[str] = field(default_factory=list)  # from the last file_urls_request
    _ws: ClientConnection | None = None

    def __enter__(self) -> WsSession:
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self._ws = connect(ws_url, subprotocols=["streamlit"], origin=self.url, max_size=None, open_timeout=60)
        self._ws.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ws is not None:
            self._ws.__exit__(*exc)

    def send(self, msg: BackMsg) -> None:
        assert self._ws is not None, "use WsSession as a context manager"
        self._ws.send(msg.SerializeToString())

    def run(
        self,
        page: str,
        query: str = "",
        click: str | None = None,
        strings: dict[str, str] | None = None,
        files: dict[str, list[tuple[str, str, int]]] | None = None,
        timeout: float = 180,
    ) -> WsSession:
        """Run ``page`` (its URL name) and wait for the end: optionally clicking the button with key
        ``click``, with text/radio widgets set (``strings``: key -> value) and upload widgets holding
        files (``files``: key -> [(file id, name, size)])."""
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        if self.page_hash:
            msg.rerun_script.page_script_hash = self.page_hash
        widgets = msg.rerun_script.widget_states.widgets
        if click is not None:
            widgets.add(id=self.widgets[click], trigger_value=True)
        for key, value in (strings or {}).items():
            widgets.add(id=self.widgets[key], string_value=value)
        for key, held in (files or {}).items():
            state = widgets.add(id=self.widgets[key])
            for file_id, name, size in held:
                state.file_uploader_state_value.uploaded_file_info.add(file_id=file_id, name=name, size=size)
        self.send(msg)
        self.texts = []
        self.read_until(lambda fm: fm.WhichOneof("type") == "script_finished" and fm.script_finished == 0, timeout)
        return self

    def clear_cache(self) -> None:
        """What the hidden menu's "Clear cache" sends, and what any client can send."""
        msg = BackMsg()
        msg.clear_cache = True
        self.send(msg)

    def request_upload_urls(self, n: int = 1, timeout: float = 60) -> list[str]:
        """What an upload widget does before it PUTs a file: ask the server for upload URLs."""
        msg = BackMsg()
        msg.file_urls_request.request_id = "test-request"
        msg.file_urls_request.file_names.extend(f"corpus-{i}.txt" for i in range(n))
        msg.file_urls_request.session_id = self.session_id
        self.send(msg)
        self.read_until(lambda fm: fm.WhichOneof("type") == "file_urls_response", timeout)
        return self.upload_urls

    def read_until(self, done, timeout: float) -> None:
        assert self._ws is not None
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(self._ws.recv(timeout=timeout))
            self._note(fm)
            if done(fm):
                return

    def _note(self, fm: ForwardMsg) -> None:
        kind = fm.WhichOneof("type")
        if kind == "new_session":
            self.session_id = fm.new_session.initialize.session_id
        elif kind == "navigation":
            self.page_hash = fm.navigation.page_script_hash
        elif kind == "file_urls_response":
            self.upload_urls = [u.upload_url for u in fm.file_urls_response.file_urls]
        elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
            element = fm.delta.new_element
            which = element.WhichOneof("type")
            sub = getattr(element, which)
            widget_id = getattr(sub, "id", "")
            if "-" in widget_id:
                self.widgets[widget_id.rsplit("-", 1)[-1]] = widget_id
            if which in TEXT_ELEMENTS:
                self.texts.append(str(getattr(sub, "body", "") or getattr(sub, "label", "")))


def cache_entries(url: str) -> str:
    """The server's own account of what its caches and upload store hold (OpenMetrics text)."""
    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=30) as response:
        return response.read().decode()
