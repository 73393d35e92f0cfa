"""``outdir.write_atomic`` on its own: a reader never finds a partial file under the
final name, whatever happens during the write (SPEC: a killed run leaves no
half-written image)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from augcli.io import is_temp
from augcli.outdir import OutDir, write_atomic


def test_the_data_is_complete_beside_the_final_name_before_it_appears_there(tmp_path, monkeypatch):
    """At the moment of the rename the final name does not exist yet, and the
    complete bytes wait in a temporary file of the same folder (a rename within
    one folder is atomic; across file systems it is a copy)."""
    path = tmp_path / "cat" / "a.png"
    path.parent.mkdir()
    data = os.urandom(100_000)
    renames = []
    real_replace = os.replace

    def watching_replace(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
        folders = {Path(os.readlink(f"/proc/self/fd/{fd}")) for fd in (src_dir_fd, dst_dir_fd)}
        src, dst = path.parent / src, path.parent / dst
        renames.append((src, dst, folders, dst.exists(), src.read_bytes() == data))
        real_replace(src.name, dst.name, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    monkeypatch.setattr(os, "replace", watching_replace)
    write_atomic(OutDir.of(tmp_path), "cat/a.png", data)
    [(src, dst, folders, final_existed, temp_complete)] = renames
    assert folders == {path.parent}  # one folder: the rename is atomic
    assert dst == path and src != path and is_temp(src.name)
    assert not final_existed and temp_complete
    assert path.read_bytes() == data
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.png"]


def write_until_the_disk_is_full(path: Path, data_size: int, limit: int) -> subprocess.CompletedProcess:
    """``write_atomic`` in a child process whose files may not grow past
    ``limit`` bytes (RLIMIT_FSIZE): the write really fails midway, as on a full disk."""
    code = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from augcli.outdir import OutDir, write_atomic
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail with EFBIG instead of dying
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            write_atomic(OutDir.of(Path({str(path.parent.parent)!r})), {path.parent.name + "/" + path.name!r},
                         b"n" * {data_size})
        except OSError as exc:
            sys.exit(f"failed: {{exc}}")
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_a_write_failing_midway_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "cat" / "a.png"
    path.parent.mkdir()
    path.write_bytes(b"old content")
    result = write_until_the_disk_is_full(path, data_size=50_000, limit=4096)
    assert result.returncode == 1 and "failed:" in result.stderr, result.stderr
    assert path.read_bytes() == b"old content"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.png"]


def test_a_first_write_failing_midway_leaves_no_file_at_all(tmp_path):
    path = tmp_path / "new" / "a.png"
    result = write_until_the_disk_is_full(path, data_size=50_000, limit=4096)
    assert result.returncode == 1 and "failed:" in result.stderr, result.stderr
    assert [p for p in tmp_path.rglob("*") if not p.is_dir()] == []
