"""A listener: someone else's line in the audio, the performer's body listening to it.

Listening is not standing still. The idle performance (breathing, weight shifts, blinks, gaze
saccades, the emotion's face) carries on with no speech on the mouth, and the listener answers the
speaker's rhythm the way people do in conversation (backchannels): a nod shortly after the
speaker pauses or ends a sentence, now and then on a stressed word, sometimes a double nod, with
the brows lifting or a smile on some of them. The head keeps a slight attentive tilt.

The clip's audio is the speaker's; its prompt (`describe`) says that the performer listens, so
a model learns to keep the mouth shut and nod on the speaker's pauses when asked to listen.
"""

from __future__ import annotations

import numpy as np

from core.corpus.face import CHANNEL
from core.corpus.performer import perform
from core.corpus.script import Utterance
from core.corpus.style import Style
from core.corpus.upper import child_rngs
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from core.skeleton import JOINT_INDEX

# How a listening clip is asked for. Held-out phrasings test that the request, not the words,
# was learned; the add-on asks with LISTEN_PROMPT.
LISTEN_PROMPT = "listen"
PHRASES = {
    "train": ("listen", "listening", "listen to them", "listen and nod along",
              "listen quietly", "you are listening", "hear the other person out"),
    "heldout": ("pay attention to the speaker", "listen without talking"),
}
ALL_PHRASES = frozenset(phrase for phrases in PHRASES.values() for phrase in phrases)
# A speaker's silence at least this long invites a nod (a sentence end, a breath).
PAUSE_S = 0.2
NOD_AT_PAUSE = 0.75
NOD_AT_STRESS = 0.2
# The nod's share of the pitch on each joint: the neck leads, the head follows.
_NOD_JOINTS = (("neck", 0.45), ("head", 0.55))


def describe(rng: np.random.Generator, split: str) -> str:
    """A phrasing of "listen" from `split`'s list ("train" or "heldout")."""
    phrases = PHRASES[split]
    return phrases[int(rng.integers(len(phrases)))]


def pause_onsets(utterance: Utterance) -> list[float]:
    """Times where the speaker stops for at least PAUSE_S, the end of the line included."""
    words = utterance.words
    onsets = [a.end for a, b in zip(words, words[1:], strict=False) if b.start - a.end >= PAUSE_S]
    if words:
        onsets.append(words[-1].end)
    return onsets


def _bump(times: np.ndarray, start: float, length: float) -> np.ndarray:
    """A raised-cosine bump from `start` over `length` seconds, peak 1."""
    phase = np.clip((times - start) / length, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(2 * np.pi * phase)


def nod_times(utterance: Utterance, rng: np.random.Generator) -> list[tuple[float, bool]]:
    """(start, double) of each nod: after most pauses, on some stressed words, never closer
    than 0.9 s to the previous one."""
    cues = [(t + rng.uniform(0.08, 0.3), NOD_AT_PAUSE) for t in pause_onsets(utterance)]
    cues += [(w.start + rng.uniform(0.05, 0.2), NOD_AT_STRESS)
             for w in utterance.words if w.emphasis]
    nods: list[tuple[float, bool]] = []
    for start, chance in sorted(cues):
        if rng.random() < chance and (not nods or start - nods[-1][0] >= 0.9):
            nods.append((start, bool(rng.random() < 0.25)))
    return nods


def _nod_pitch(times: np.ndarray, nods: list[tuple[float, bool]], style: Style,
               rng: np.random.Generator) -> np.ndarray:
    """Head pitch (radians, + down) over time: one bump per nod, two for a double nod."""
    pitch = np.zeros_like(times)
    size = np.deg2rad(9.0) * np.sqrt(style.amplitude)
    for start, double in nods:
        length = rng.uniform(0.45, 0.7) / style.tempo
        amplitude = size * rng.uniform(0.7, 1.3)
        pitch += amplitude * _bump(times, start, length)
        if double:
            pitch += 0.7 * amplitude * _bump(times, start + 0.85 * length, length)
    return pitch


def _turn(poses: np.ndarray, joint: int, extra: np.ndarray) -> None:
    """Apply the axis-angle rotations `extra` (T, 3) after the joint's own, in place."""
    rotated = axis_angle_to_matrix(poses[:, joint].astype(np.float64)) @ axis_angle_to_matrix(extra)
    poses[:, joint] = matrix_to_axis_angle(rotated)


def _backchannel_face(motion: Motion, nods: list[tuple[float, bool]], style: Style,
                      rng: np.random.Generator) -> None:
    """Brows up on some nods; a brief smile on some when the mood allows one."""
    times = np.arange(motion.num_frames) / motion.fps
    brows = np.zeros_like(times)
    smile = np.zeros_like(times)
    for start, _double in nods:
        if rng.random() < 0.35:
            brows += rng.uniform(0.2, 0.45) * _bump(times, start - 0.1, 0.8)
        if style.emotion in ("happiness", "neutral", "surprise") and rng.random() < 0.3:
            smile += rng.uniform(0.2, 0.4) * _bump(times, start, 1.4)
    for name, add in (("browInnerUp", brows), ("browOuterUpLeft", 0.8 * brows),
                      ("browOuterUpRight", 0.8 * brows), ("mouthSmileLeft", smile),
                      ("mouthSmileRight", smile)):
        column = CHANNEL[name]
        motion.face[:, column] = np.clip(motion.face[:, column] + add, 0.0, 1.0)


def listen(utterance: Utterance, style: Style, rng: np.random.Generator,
           fps: float = 30.0) -> Motion:
    """The listener's performance for as long as `utterance` (the other person's line) lasts."""
    rng_body, rng_nods, rng_face = child_rngs(rng, 3)
    motion = perform(None, style, rng_body, fps=fps, duration=utterance.duration)
    times = np.arange(motion.num_frames) / fps
    nods = nod_times(utterance, rng_nods)
    pitch = _nod_pitch(times, nods, style, rng_nods)
    tilt = rng.normal(0.0, np.deg2rad(3.0), 2)  # attentive roll and a slight turn, held
    for name, share in _NOD_JOINTS:
        extra = np.zeros((motion.num_frames, 3))
        extra[:, 0] = share * pitch
        extra[:, 1] = share * tilt[1]
        extra[:, 2] = share * tilt[0]
        _turn(motion.poses, JOINT_INDEX[name], extra)
    _backchannel_face(motion, nods, style, rng_face)
    motion.extras["nods"] = [round(start, 3) for start, _ in nods]
    return motion
