"""Where a model comes from: a local folder, or a Hugging Face repo fetched (once) into the hub cache.

A download fetches `config.json` first (it names the model family), then the files that family needs
(`HUB_FILES`: alternatives in order of preference, one copy of the weights each). Files already in the cache
are not fetched again. Progress goes to the observer installed with `observe_downloads` on the loading thread
(the editor's dialog, the command line's `TqdmProgress`); the observer's `should_stop()` cancels: the file in
flight is abandoned (huggingface_hub deletes its partial copy), the files already finished stay in the cache,
and the next load fetches only what is missing.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DiaEngineError, ModelLoadError
from .family import DIA2, DIA_0626, DIA_V01, detect_family, read_config

# Dia2 reads its own tokenizer from the checkpoint.
DIA2_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                        "merges.txt", "added_tokens.json")
# Per model family, the files to fetch besides config.json: alternatives in order of preference (the 0626 repo
# stores the weights three times; one copy is enough). A family's alternative lists every file it needs
# (tokenizer files too). Families not listed use DEFAULT_FILES.
HUB_FILES: dict[str, tuple[tuple[str, ...], ...]] = {
    DIA_0626: (("model.safetensors.index.json", "model-*.safetensors"), ("model.safetensors",), ("dia-v1.pth",)),
    DIA_V01: (("model.safetensors",), ("dia-v0_1.pth",)),
    DIA2: (("model.safetensors.index.json", "model-*.safetensors", *DIA2_TOKENIZER_FILES),
           ("model.safetensors", *DIA2_TOKENIZER_FILES)),
}
DEFAULT_FILES: tuple[tuple[str, ...], ...] = (("model.safetensors.index.json", "model-*.safetensors"),
                                              ("model.safetensors",))


class DownloadCancelled(DiaEngineError):
    """The observer asked to stop; the files finished so far stay in the cache."""


@dataclass
class DownloadStatus:
    """One model download, as the observer sees it (bytes are those fetched in this run)."""

    repo_id: str
    files: list[str] = field(default_factory=list)  # to fetch now
    cached_files: int = 0  # needed but already in the cache: not fetched again
    total_bytes: int = 0
    done_bytes: int = 0
    current_file: str = ""


class DownloadObserver:
    """What a loader is told about a download. Called on the loading thread; override what you need."""

    def started(self, status: DownloadStatus) -> None: ...

    def progressed(self, status: DownloadStatus) -> None: ...

    def finished(self, status: DownloadStatus) -> None: ...

    def should_stop(self) -> bool:
        return False


_local = threading.local()


@contextmanager
def observe_downloads(observer: DownloadObserver) -> Iterator[DownloadObserver]:
    """Report the hub downloads made on this thread inside the block (e.g. by `DiaEngine.from_pretrained`)."""
    previous = getattr(_local, "observer", None)
    _local.observer = observer
    try:
        yield observer
    finally:
        _local.observer = previous


def abort_active_transfers() -> None:
    """Stop a Xet transfer in flight. Call it from another thread after making `should_stop()` true.

    Plain HTTP downloads stop at the next chunk when `should_stop()` is true. Xet downloads report progress from
    a thread of their own, which ignores the exception that stops HTTP ones; huggingface_hub has no public way to
    stop one yet (huggingface/huggingface_hub#4632), so this uses the session abort it uses for Ctrl+C."""
    try:
        from huggingface_hub.utils._xet import abort_xet_session
    except ImportError:
        return
    try:
        abort_xet_session()
    except Exception:  # nothing in flight, or hf_xet absent: nothing to stop
        pass


Files = tuple[tuple[str, ...], ...]


def resolve_source(source: str | os.PathLike, cache_dir: str | None = None, files: Files | None = None) -> Path:
    """A local folder holding `config.json` and one copy of the weights.

    `files`: the alternatives to fetch for a model that is not a Dia family (the speech recogniser passes its
    own); by default they follow the family its config.json names (`HUB_FILES`)."""
    folder = local_folder(source)
    return folder if folder is not None else download(str(source), cache_dir, files)


def local_folder(source: str | os.PathLike) -> Path | None:
    """`source` as a local model folder holding config.json; None when it names a hub repo instead.

    Raises ModelLoadError for a file, a folder without config.json, or a path that is neither."""
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"model source {path} is a file; give the folder that holds config.json")
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"no config.json in model folder {path}")
        return path
    if not _looks_like_repo_id(str(source)):
        raise ModelLoadError(f"model folder not found: {path}")
    return None


def _looks_like_repo_id(source: str) -> bool:
    parts = source.split("/")
    return len(parts) == 2 and all(parts) and not source.startswith((".", "~")) and "\\" not in source


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def choose_files(family: str | None, repo_files: list[str], alternatives: Files | None = None) -> list[str]:
    """The files of `repo_files` to fetch for `family` (or from `alternatives`): the first alternative whose every
    pattern matches."""
    for patterns in alternatives or HUB_FILES.get(family, DEFAULT_FILES):
        matches = [[f for f in repo_files if fnmatch.fnmatchcase(f, p)] for p in patterns]
        if all(matches):
            return list(dict.fromkeys(f for group in matches for f in sorted(group)))  # in the patterns' order
    layout = family or " or ".join("+".join(a) for a in alternatives or ())
    raise ModelLoadError(f"the repo holds no weights in a layout Dia Studio reads ({layout})")


def download(repo_id: str, cache_dir: str | None = None, files: Files | None = None) -> Path:
    """The snapshot folder of `repo_id` in the hub cache, fetching what is missing. ModelLoadError otherwise."""
    if _offline():
        return _from_cache(repo_id, cache_dir, reason="HF_HUB_OFFLINE=1 turns downloads off", files=files)
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    endpoint = os.environ.get("HF_ENDPOINT") or None
    try:
        info = HfApi(endpoint=endpoint).model_info(repo_id, files_metadata=True)
        config = Path(hf_hub_download(repo_id, "config.json", cache_dir=cache_dir, endpoint=endpoint,
                                      tqdm_class=_Silent))  # also records the commit for offline use later
    except GatedRepoError:
        raise ModelLoadError(f"Hugging Face repo '{repo_id}' is gated: accept its terms on the hub and log in "
                             "(`hf auth login`)") from None
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise ModelLoadError(f"Hugging Face repo '{repo_id}' not found (or it is private)") from None
    except Exception as exc:  # no network, a proxy, the hub down: the cache may still have it
        return _from_cache(repo_id, cache_dir, reason=f"the hub cannot be reached ({type(exc).__name__})",
                           files=files)
    family = None if files else detect_family(read_config(config), source=f"{repo_id}/config.json")
    sizes = {s.rfilename: (s.lfs.size if s.lfs else s.size) or 0 for s in info.siblings or []}
    wanted = choose_files(family, list(sizes), files)
    folder = config.parent
    missing = [f for f in wanted if not (folder / f).is_file()]
    status = DownloadStatus(repo_id, missing, len(wanted) - len(missing), sum(sizes[f] for f in missing))
    observer = getattr(_local, "observer", None) or DownloadObserver()
    observer.started(status)
    try:
        _fetch(status, folder.name, sizes, observer, cache_dir, endpoint)
    finally:
        observer.finished(status)
    return folder


def _fetch(status: DownloadStatus, commit: str, sizes: dict[str, int], observer: DownloadObserver,
           cache_dir: str | None, endpoint: str | None) -> None:
    from huggingface_hub import hf_hub_download

    bar = _progress_bar_class(observer, status)
    for name in status.files:
        if observer.should_stop():
            raise DownloadCancelled(f"download of '{status.repo_id}' cancelled")
        status.current_file = name
        start = status.done_bytes
        try:
            hf_hub_download(status.repo_id, name, revision=commit, cache_dir=cache_dir, endpoint=endpoint,
                            tqdm_class=bar)
        except DownloadCancelled:
            raise
        except Exception as exc:
            if observer.should_stop():  # a Xet transfer stopped by abort_active_transfers()
                raise DownloadCancelled(f"download of '{status.repo_id}' cancelled") from None
            raise ModelLoadError(f"downloading {name} from '{status.repo_id}' failed: {exc}") from None
        if observer.should_stop():  # a Xet transfer that finished although asked to stop
            raise DownloadCancelled(f"download of '{status.repo_id}' cancelled")
        status.done_bytes = start + sizes[name]  # exact, whatever the transfer reported
        observer.progressed(status)


def _from_cache(repo_id: str, cache_dir: str | None, reason: str, files: Files | None = None) -> Path:
    """The cached snapshot of `repo_id` if it is complete, else one line naming the repo and the reason."""
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache_dir)
    if isinstance(config, str):
        folder = Path(config).parent
        family = None if files else detect_family(read_config(config), source=f"{repo_id}/config.json")
        present = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
        try:
            choose_files(family, present, files)
            return folder
        except ModelLoadError:
            pass
    raise ModelLoadError(f"model '{repo_id}' is not in the local cache and {reason}: connect once to download it, "
                         "or choose a local model folder")


def _progress_bar_class(observer: DownloadObserver, status: DownloadStatus) -> type:
    """A tqdm stand-in for huggingface_hub's `tqdm_class` hook: it adds each file's bytes to `status`.

    Raising DownloadCancelled from `update` stops an HTTP transfer between chunks; huggingface_hub then deletes
    the partial file, so the cache only ever holds whole files."""

    class Bar(_Silent):
        def update(self, n: float | None = 1) -> None:
            status.done_bytes += int(n or 0)  # negative when a retried transfer starts the file over
            observer.progressed(status)
            if observer.should_stop():
                raise DownloadCancelled(f"download of '{status.repo_id}' cancelled")

    return Bar


class _Silent:
    """The smallest object huggingface_hub accepts as a progress bar; shows nothing."""

    def __init__(self, *args, total: float | None = None, initial: float = 0, **kwargs):
        self.total, self.n = total, initial

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: float | None = 1) -> None:
        pass

    def update_transfer(self, n: float | None = 1) -> None:
        pass  # Xet's network bytes: the file bytes passed to `update` are what counts

    def set_postfix_str(self, *args, **kwargs) -> None:
        pass

    def set_transfer_postfix_str(self, *args, **kwargs) -> None:
        pass

    def set_description(self, *args, **kwargs) -> None:
        pass

    def refresh(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


class TqdmProgress(DownloadObserver):
    """A download bar on stderr for the command line: bytes, rate and time left (tqdm)."""

    def __init__(self, file=None):
        self.file = file or sys.stderr
        self._bar = None

    def started(self, status: DownloadStatus) -> None:
        from tqdm import tqdm

        if not status.files:
            return
        cached = f", {status.cached_files} already cached" if status.cached_files else ""
        print(f"downloading {status.repo_id}: {len(status.files)} files{cached}", file=self.file, flush=True)
        self._bar = tqdm(total=status.total_bytes, unit="B", unit_scale=True, file=self.file,
                         desc=status.repo_id, dynamic_ncols=True, mininterval=0.5)

    def progressed(self, status: DownloadStatus) -> None:
        if self._bar is not None:
            self._bar.update(status.done_bytes - self._bar.n)

    def finished(self, status: DownloadStatus) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
