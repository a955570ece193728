"""A contact sheet of corpus clips: stick figures over the word and phoneme timeline, as PNG,
so a person can see what the performer does with the words."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.corpus.layout import CorpusEntry, iter_corpus
from core.errors import BodyLanguageError
from core.io.beat2 import read_motion_npz
from core.io.textgrid import read_textgrid
from core.skeleton import PARENTS, forward_kinematics

FIGURES_PER_CLIP = 8
# Bones drawn per figure: the body and the first two finger joints, enough to see hand shapes.
_DRAWN = [j for j in range(1, 55) if j < 25 or (j - 25) % 3 != 2]


def _draw_figure(ax, positions: np.ndarray, x_offset: float) -> None:  # noqa: ANN001
    for joint in _DRAWN:
        parent = PARENTS[joint]
        xs = [positions[parent, 0] + x_offset, positions[joint, 0] + x_offset]
        ys = [positions[parent, 1], positions[joint, 1]]
        side = "tab:blue" if "left" in _name(joint) else "tab:red" if "right" in _name(joint) \
            else "0.2"
        ax.plot(xs, ys, color=side, linewidth=1.0 if joint >= 25 else 1.8,
                solid_capstyle="round")


def _name(joint: int) -> str:
    from core.skeleton import JOINT_NAMES

    return JOINT_NAMES[joint]


def _draw_clip(fig, grid, row: int, entry: CorpusEntry) -> None:  # noqa: ANN001
    motion = read_motion_npz(entry.npz)
    positions = forward_kinematics(motion.poses, motion.trans)
    frames = np.linspace(0, motion.num_frames - 1, FIGURES_PER_CLIP).round().astype(int)

    ax = fig.add_subplot(grid[2 * row])
    spacing = 1.0
    for k, frame in enumerate(frames):
        pose = positions[frame] - [positions[frame, 0, 0], 0, 0]  # keep each figure in its cell
        _draw_figure(ax, pose, k * spacing)
        ax.text(k * spacing, -0.12, f"{frame / motion.fps:.1f}s", ha="center", fontsize=7)
    ax.set_xlim(-0.6, (FIGURES_PER_CLIP - 1) * spacing + 0.6)
    ax.set_ylim(-0.2, 1.95)
    ax.set_aspect("equal")
    ax.axis("off")
    title = f"{entry.id} · {entry.emotion or '?'}"
    if entry.description:
        title += f" · action: “{entry.description}”"
    if entry.transcript:
        title += f"\n“{entry.transcript[:110]}”"
    ax.set_title(title, fontsize=8, loc="left")

    timeline = fig.add_subplot(grid[2 * row + 1])
    times = np.arange(motion.num_frames) / motion.fps
    wrists = positions[:, [20, 21]]
    speed = np.linalg.norm(np.diff(wrists, axis=0), axis=-1).max(axis=1) * motion.fps
    timeline.plot(times[1:], speed, color="0.3", linewidth=0.8, label="wrist speed (m/s)")
    jaw = motion.poses[:, 22, 0]
    timeline.plot(times, jaw / max(jaw.max(), 1e-6) * max(speed.max(), 0.1), color="tab:green",
                  linewidth=0.8, label="jaw opening")
    top = max(speed.max(), 0.1)
    if entry.textgrid is not None:
        tiers = read_textgrid(entry.textgrid)
        for word in tiers.get("words", []):
            if word.text:
                timeline.axvspan(word.xmin, word.xmax, color="tab:orange", alpha=0.12)
                timeline.text((word.xmin + word.xmax) / 2, top * 1.02, word.text, ha="center",
                              va="bottom", fontsize=6, rotation=30)
        for phone in tiers.get("phones", []):
            if phone.text:
                timeline.text((phone.xmin + phone.xmax) / 2, -top * 0.12, phone.text,
                              ha="center", va="top", fontsize=4, color="0.4")
    for frame in frames:
        timeline.axvline(frame / motion.fps, color="tab:purple", linewidth=0.6, alpha=0.6)
    timeline.set_xlim(0, motion.duration)
    timeline.set_ylim(-top * 0.3, top * 1.5)
    timeline.tick_params(labelsize=6)
    timeline.legend(fontsize=6, loc="upper right")


def render_preview(
    data: str | os.PathLike,
    out: str | os.PathLike,
    clips: int = 3,
    ids: list[str] | None = None,
) -> Path:
    """Draw `clips` clips of the corpus at `data` (or the given ids) into the PNG `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.gridspec import GridSpec

    entries = list(iter_corpus(data))
    if ids:
        known = {entry.id: entry for entry in entries}
        missing = [clip_id for clip_id in ids if clip_id not in known]
        if missing:
            raise BodyLanguageError(f"no clips named {', '.join(missing)}", data)
        entries = [known[clip_id] for clip_id in ids]
    else:
        # Spread the picks over the corpus so one sheet shows speech and actions alike.
        step = max(1, len(entries) // max(clips, 1))
        entries = entries[::step][:clips]
    if not entries:
        raise BodyLanguageError("holds no clips to preview", data)

    fig = plt.figure(figsize=(12, 3.6 * len(entries)))
    grid = GridSpec(2 * len(entries), 1, height_ratios=[3, 1] * len(entries), hspace=0.45)
    for row, entry in enumerate(entries):
        _draw_clip(fig, grid, row, entry)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out
