"""core/shared: one source for what core and the add-on both need, and its generated copies."""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

import build

ROOT = Path(build.__file__).resolve().parent
SOURCE = ROOT / build.SHARED_SOURCE
COPY = ROOT / build.SHARED_COPY
# What a shared module may import besides its own package: Blender's Python has these.
ALLOWED_IMPORTS = frozenset({"numpy"}) | sys.stdlib_module_names


def _tree(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in build._shipped_files(folder)}


def test_addon_copy_is_identical_to_core_shared():
    # conftest.py refreshed the copy; this checks the refresh leaves nothing else behind.
    source = _tree(SOURCE)
    assert "__init__.py" in source
    assert _tree(COPY) == source


def test_extension_zip_holds_core_shared_for_both_sides(tmp_path):
    target = build.build_extension(ROOT, tmp_path)
    source = _tree(SOURCE)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        for side in ("shared", "core/shared"):
            held = {name[len(side) + 1:]: archive.read(name) for name in names
                    if name.startswith(side + "/")}
            assert held == source, side


def test_zip_takes_shared_from_core_even_when_the_copy_is_stale(tmp_path):
    project = tmp_path / "project"
    for relative in ("blender_manifest.toml", "blender_addon/__init__.py", "core/__init__.py",
                     "core/shared/__init__.py", "core/shared/errors.py"):
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_bytes((ROOT / relative).read_bytes())
    stale = project / "blender_addon/shared/errors.py"
    stale.parent.mkdir(parents=True)
    stale.write_text("class BodyLanguageError(Exception):\n    pass\n")
    (project / "blender_addon/shared/gone.py").write_text("")
    with zipfile.ZipFile(build.build_extension(project, tmp_path / "dist")) as archive:
        assert "shared/gone.py" not in archive.namelist()
        assert archive.read("shared/errors.py") == (ROOT / "core/shared/errors.py").read_bytes()


def test_sync_rewrites_edits_and_removes_what_the_source_lacks(tmp_path):
    (tmp_path / "core/shared").mkdir(parents=True)
    (tmp_path / "core/shared/__init__.py").write_text('"""shared"""\n')
    (tmp_path / "core/shared/rates.py").write_text("FPS = 30.0\n")
    copy = tmp_path / "blender_addon/shared"
    copy.mkdir(parents=True)
    (copy / "rates.py").write_text("FPS = 25.0\n")
    (copy / "renamed_away.py").write_text("")
    changed = build.sync_shared(tmp_path)
    assert _tree(copy) == _tree(tmp_path / "core/shared")
    assert {path.name for path in changed} == {"__init__.py", "rates.py", "renamed_away.py"}
    assert build.sync_shared(tmp_path) == []


def _imports(path: Path) -> list[tuple[int, str]]:
    """(relative level, top-level module name) of every import in a Python file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(0, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, (node.module or "").split(".")[0]))
    return found


def test_shared_modules_need_only_numpy_and_each_other():
    for path in SOURCE.rglob("*.py"):
        for level, name in _imports(path):
            assert level > 0 or name in ALLOWED_IMPORTS, (
                f"{path.relative_to(ROOT)} imports {name}: shared modules run inside Blender, "
                "which has no torch and no core; import siblings relatively")


def test_the_corpus_styles_are_the_shared_emotions_in_order():
    # STYLES is a table of numbers per emotion: the list of emotions itself is EMOTIONS.
    from core.corpus.style import STYLES
    from core.shared.emotions import EMOTIONS

    assert tuple(STYLES) == EMOTIONS
    assert all(style.emotion == emotion for emotion, style in STYLES.items())
