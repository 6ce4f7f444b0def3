"""Find a dataset file: explicit path / TAPEFLOW_DATA_DIR, user cache, Debian package, download."""
from __future__ import annotations

import os
import urllib.request

from .idx import DatasetFileError, atomic_write, parse_idx, read_bytes, sha256


def search_dirs(name: str, path: str | None, system_dirs=()) -> list:
    dirs = []
    if path:
        dirs.append(path)
    env = os.environ.get("TAPEFLOW_DATA_DIR")
    if env:
        dirs += [os.path.join(env, name), env]
    dirs.append(os.path.join(os.path.expanduser("~"), ".tapeflow", "datasets", name))
    dirs += list(system_dirs)
    return dirs


def load_idx_set(name: str, files: dict, path: str | None, system_dirs, mirror: str, download: bool = True):
    """Return ``{key: array}`` for IDX files ``files = {key: (filename, sha256 of content, ndim)}``.

    Content hashes are of the decompressed bytes, so a recompressed copy still verifies.
    """
    dirs = search_dirs(name, path, system_dirs)
    out = {}
    for key, (fname, digest, ndim) in files.items():
        candidates = [os.path.join(d, fname) for d in dirs] + [os.path.join(d, fname[:-3]) for d in dirs if fname.endswith(".gz")]
        found = next((c for c in candidates if os.path.isfile(c)), None)
        if found is None and download and os.environ.get("TAPEFLOW_OFFLINE") != "1":
            found = _download(name, fname, digest, mirror)
        if found is None:
            raise FileNotFoundError(
                f"{name}: could not find {fname}. Looked in: " + ", ".join(dirs) +
                f". Get it with `apt-get install dataset-{name}` (Debian), or download it from {mirror}{fname} "
                f"into ~/.tapeflow/datasets/{name}/, or set TAPEFLOW_DATA_DIR")
        data = read_bytes(found)
        if digest and sha256(data) != digest:
            raise DatasetFileError(f"{found}: content checksum mismatch (expected sha256 {digest}); "
                                   "the file is corrupt or not the official one; delete it and fetch it again")
        out[key] = parse_idx(data, found, expect_ndim=ndim)
    return out


def _download(name, fname, digest, mirror):
    dest_dir = os.path.join(os.path.expanduser("~"), ".tapeflow", "datasets", name)
    url = mirror + fname
    try:
        with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - fixed https mirror
            data = r.read()
    except OSError:
        return None
    dest = os.path.join(dest_dir, fname)
    import gzip
    content = gzip.decompress(data) if fname.endswith(".gz") else data
    if digest and sha256(content) != digest:
        raise DatasetFileError(f"{url}: downloaded file failed its sha256 check; not saved")
    atomic_write(dest, data)
    return dest
