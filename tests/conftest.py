"""Shared test set-up: the project root on sys.path, a fresh blender_addon/shared, and the
fixtures more than one module uses (torch thread count, the session's tiny model folders,
the built extension).
Helpers that are not fixtures live in small modules beside it: tiny_model (model folders),
tiny_corpus (corpora of builder clips), motion_synth (smooth synthetic motion), file_errors
(errors that name their file), folder_snapshot (a folder left as it was), blender_harness and
extension_runs (scripts from blender_scripts/ run in headless Blender)."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import build  # noqa: E402

# The add-on imports blender_addon/shared, a generated copy of core/shared: refresh it before any
# test imports it, so no test ever runs against a stale copy.
build.sync_shared(ROOT)


@pytest.fixture(scope="module")
def torch_threads_restored() -> Iterator[None]:
    """Torch's thread count, as the module found it, restored when the module ends: whatever
    its tests do to it (core.api.load_model sets it), the next module starts as this one did."""
    import torch

    previous = torch.get_num_threads()
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def one_torch_thread(torch_threads_restored: None) -> None:
    """Torch on one thread for a module (`pytestmark = pytest.mark.usefixtures(...)`). Tiny
    models' operations are far too small to share between threads: on a busy 2-core machine two
    threads mostly wait for each other, making every operation up to ~10x slower."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """The session's tiny model folder (tests/tiny_model.py); tests must not write into it."""
    from tiny_model import tiny_model_folder

    return tiny_model_folder(tmp_path_factory)


@pytest.fixture(scope="session")
def tiny_masked_model(tmp_path_factory) -> Path:
    """The session's tiny masked model folder, beside the tiny model's tokenizers; read only."""
    from tiny_model import tiny_masked_model_folder

    return tiny_masked_model_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def extension_zip(tmp_path_factory) -> Path:
    """The extension built from this checkout, once per test module that runs it in Blender."""
    return build.build_extension(ROOT, tmp_path_factory.mktemp("dist"))
