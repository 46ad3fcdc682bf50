"""A local stand-in for the Hugging Face hub: the few endpoints `huggingface_hub` uses to download a model.

`/api/models/{repo}[/revision/{rev}]` lists the files with sizes; `HEAD`/`GET /{repo}/resolve/{rev}/{file}`
serve a file with the hub's headers (`X-Repo-Commit`, `ETag`), streamed in small chunks. Every request is
recorded, so a test can tell which files were fetched."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CHUNK = 16 * 1024


class FakeHub:
    def __init__(self, repos: dict[str, Path], chunk_delay_s: float = 0.0):
        """`repos`: repo id -> local folder whose files the repo holds; `chunk_delay_s` slows the stream."""
        self.chunk_delay_s = chunk_delay_s
        self.repos = {repo: {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
                      for repo, folder in repos.items()}
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def gets(self, filename: str) -> int:
        """How many times the file's content was requested."""
        return sum(1 for method, path in self.requests if method == "GET" and path.endswith("/" + filename))

    def __enter__(self) -> "FakeHub":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                path = unquote(urlparse(self.path).path)
                hub.requests.append((self.command, path))
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "models"]:
                    return self._info("/".join(parts[2:4]))
                if len(parts) >= 5 and parts[2] == "resolve":
                    return self._file("/".join(parts[:2]), "/".join(parts[4:]), body)
                self._error(404, "Entry not found")

            def _info(self, repo: str) -> None:
                if repo not in hub.repos:
                    return self._error(404, "Repository not found", "RepoNotFound")
                siblings = [{"rfilename": name, "size": len(data)} for name, data in hub.repos[repo].items()]
                payload = json.dumps({"id": repo, "sha": COMMIT, "siblings": siblings, "private": False}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _file(self, repo: str, name: str, body: bool) -> None:
                data = hub.repos.get(repo, {}).get(name)
                if data is None:
                    return self._error(404, "Entry not found", "EntryNotFound")
                self.send_response(200)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", '"%s"' % hashlib.sha256(data).hexdigest())
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not body:
                    return
                try:
                    for start in range(0, len(data), CHUNK):
                        self.wfile.write(data[start:start + CHUNK])
                        self.wfile.flush()
                        time.sleep(hub.chunk_delay_s)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: a cancelled download

            def _error(self, code: int, message: str, kind: str = "") -> None:
                payload = json.dumps({"error": message}).encode()
                self.send_response(code)
                if kind:
                    self.send_header("X-Error-Code", kind)
                self.send_header("X-Error-Message", message)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

        return Handler
