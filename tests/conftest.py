import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import build  # noqa: E402

# The add-on imports blender_addon/shared, a generated copy of core/shared: refresh it before any
# test imports it, so no test ever runs against a stale copy.
build.sync_shared(ROOT)
