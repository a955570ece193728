"""The motion npz files core writes and reads and the worker and the add-on exchange: their keys
and the defaults a reader assumes. Reading and writing stay with each side (core/io/beat2.py and
core/worker_npz.py; blender_addon/motion_files.py); what a key is called and means is said here.

Results, and any motion core writes, are BEAT2 layout: `poses` (T, 165) = 55 joints x
axis-angle, `trans` (T, 3), the face in its own space, `mocap_frame_rate`, `betas`, `gender`,
`model`; the worker adds `face_names`, so any BEAT2 or SMPL-X npz reader opens a result too.
FLAME faces go under `expressions`, as BEAT2 stores them; any other space's under
`face_<space>` (T, F) with `face_space` naming the space. A file without `face_space` is a BEAT2
file (FLAME), one without `mocap_frame_rate` runs at 30 fps, as BEAT2's layout does by definition.

Keep files, from the add-on to the worker (parts to condition on): `poses` (K, 165), `trans`
(K, 3), the face under `face` (K, F) named by `face_names` (F,), `mocap_frame_rate` and `parts`
(the kept part names). The `face` key tells a keep file from a BEAT2-layout one.

Files are always read without pickle.
"""

from __future__ import annotations

POSES = "poses"
TRANS = "trans"
FRAME_RATE = "mocap_frame_rate"
FACE_SPACE = "face_space"
FACE_NAMES = "face_names"
BETAS = "betas"
GENDER = "gender"
KEEP_FACE = "face"
KEPT_PARTS = "parts"

# What a file that lacks `face_space` or `mocap_frame_rate` holds: BEAT2's own layout.
BEAT2_FACE_SPACE = "flame100"
BEAT2_FRAME_RATE = 30.0
# What a written file carries when the motion has none, so BEAT2 loaders find what they expect.
BEAT2_NUM_BETAS = 300
BEAT2_MODEL = "smplx2020"
MODEL = "model"


def face_key(space: str) -> str:
    """The key under which a file holds a face of `space`."""
    return "expressions" if space == BEAT2_FACE_SPACE else f"face_{space}"
