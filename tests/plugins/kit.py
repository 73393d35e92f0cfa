"""Install small plugin packages for a test without pip: a module and a
``*.dist-info`` folder (METADATA + entry_points.txt) in a folder put on
``sys.path`` and ``PYTHONPATH``. ``importlib.metadata`` finds them exactly as
it finds a pip-installed package, in this process and in every worker process
a test starts (loky, Dask), so a fresh clone needs no install step."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from augcli.ops import REGISTRY, plugins

DEMO = (Path(__file__).parent / "augcli_demo.py").read_text()


class Site:
    """A folder of installed plugin packages."""

    def __init__(self, root: Path, monkeypatch):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.modules: list[str] = []
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
        monkeypatch.delenv(plugins.SWITCH, raising=False)

    def install(self, dist: str, version: str, module: str, source: str, entry: str | None = None) -> None:
        """Install package ``dist`` ``version`` whose entry point loads ``module`` (written from ``source``)."""
        for old in self.root.glob(f"{dist.replace('-', '_')}-*.dist-info"):
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
        (self.root / f"{module}.py").write_text(source)
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[augcli.ops]\n{module} = {entry or module}\n")
        self.modules.append(module)
        self.forget()

    def forget(self) -> None:
        """Make this process discover plugins afresh on its next lookup."""
        for module in self.modules:
            sys.modules.pop(module, None)
        importlib.invalidate_caches()
        for name in [n for n, spec in REGISTRY.items() if spec.plugin]:
            del REGISTRY[name]
        plugins.reset()
