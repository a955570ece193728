"""Writes blender_addon/data/smplx_skeleton.json from core/skeleton.py.

The add-on cannot import `core` inside Blender, so it reads this committed copy of the skeleton;
tests/test_addon_rig.py fails when the two drift apart. Regenerate with

    .venv/bin/python tests/export_addon_skeleton.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKELETON_JSON = ROOT / "blender_addon" / "data" / "smplx_skeleton.json"
REGENERATE_COMMAND = ".venv/bin/python tests/export_addon_skeleton.py"


def skeleton_json_text() -> str:
    """The JSON text the add-on's skeleton file must hold, computed from core/skeleton.py."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from core import skeleton

    payload = {
        "generated_from": "core/skeleton.py",
        "regenerate_with": REGENERATE_COMMAND,
        "coordinates": "SMPL-X: metres, Y up, the character faces +Z, its left is +X",
        "joint_names": list(skeleton.JOINT_NAMES),
        "parents": list(skeleton.PARENTS),
        "parts": list(skeleton.PARTS),
        "part_joints": {part: list(skeleton.PART_JOINTS[part]) for part in skeleton.PARTS},
        "head_top_above_head_joint": skeleton.HEAD_TOP_ABOVE_HEAD_JOINT,
        "fingertip_length": skeleton.FINGERTIP_LENGTH,
        # json writes floats with repr, so they read back bit-identical.
        "rest_offsets": skeleton.default_rest_offsets().tolist(),
        "rest_positions": skeleton.default_rest_positions().tolist(),
    }
    return json.dumps(payload, indent=1) + "\n"


def main() -> None:
    SKELETON_JSON.parent.mkdir(parents=True, exist_ok=True)
    SKELETON_JSON.write_text(skeleton_json_text())
    print(f"wrote {SKELETON_JSON}")


if __name__ == "__main__":
    main()
