"""Scheduling gestures onto the two hands and turning each hand's gestures into one key list.

A hand does one thing at a time: it must have time to travel from one gesture's stroke to the
next one's preparation, and between gestures it retracts toward rest, fully or part way.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.corpus.arms import SIDE_SIGN, SIDES
from core.corpus.gestures import GestureEvent, Key
from core.corpus.style import Style

_LEAD = 0.15  # shortest time (s) between one gesture's stroke end and the next one's start


def transit(a: tuple, b: tuple, tempo: float) -> float:
    """Seconds a hand needs to travel from a to b without whipping."""
    return (_LEAD + 0.8 * float(np.linalg.norm(np.subtract(a, b)))) / tempo


def schedule(
    events: list[GestureEvent], dominant: str, style: Style, rng: np.random.Generator
) -> dict[str, list[GestureEvent]]:
    """Assign events to hands, most meaningful first; a hand does one thing at a time and
    has time to travel between one gesture's stroke and the next one's preparation."""
    placed: dict[str, list[GestureEvent]] = {side: [] for side in SIDES}

    def fits(side: str, event: GestureEvent) -> bool:
        for other in placed[side]:
            first, second = (other, event) if other.stroke < event.stroke else (event, other)
            held = first.keys[first.essential - 1].position
            if second.start - first.stroke_end < transit(held, second.keys[0].position,
                                                          style.tempo):
                return False
        return True

    other_hand = "left" if dominant == "right" else "right"
    for event in sorted(events, key=lambda e: (-e.priority, e.stroke)):
        if event.both:
            if fits("left", event) and fits("right", event):
                event.side = "both"
            elif event.kind == "beat":
                event.both = False
        if not event.both:
            order = [dominant, other_hand] if rng.random() < 0.8 else [other_hand, dominant]
            event.side = next((s for s in order if fits(s, event)), "")
        if not event.side:
            continue
        for side in SIDES if event.side == "both" else (event.side,):
            placed[side].append(event)
    for side in SIDES:
        placed[side].sort(key=lambda e: e.start)
    return placed


def hand_keys(
    side: str,
    events: list[GestureEvent],
    rest: np.ndarray,
    style: Style,
    rng: np.random.Generator,
    jitter: float,
) -> list[Key]:
    """One hand's key list: rest, gestures, partial or full retractions in the gaps."""
    # Hanging hands face the thighs, a little backward; hands resting in front face up and in.
    rest_palm = (-1.0, 0.0, -0.25) if rest[2] < 0.15 else (-0.6, 0.8, 0.0)
    mirror = side == "right"

    def rest_key(t: float) -> Key:
        # Authored in left coordinates like every gesture key, mirrored for the right hand.
        p = rest * np.array([SIDE_SIGN[side], 1.0, 1.0]) + rng.normal(0, 0.008, 3)
        key = Key(t, tuple(p), rest_palm, (0.12, 0.0), "relaxed")
        return key.mirrored() if mirror else key

    def travel(a: tuple, b: tuple, base: float, per_metre: float, lo: float, hi: float) -> float:
        dist = float(np.linalg.norm(np.subtract(a, b)))
        return float(np.clip(base + per_metre * dist, lo, hi)) / style.tempo

    keys = [rest_key(0.0)]
    at_rest = True
    for i, event in enumerate(events):
        own = [k.mirrored() if mirror else k for k in event.keys]
        if event.side == "both" and jitter:
            # The two hands of a symmetric gesture are never perfectly in step.
            own = [k.shifted(jitter) for k in own]
        if i + 1 < len(events):
            # Cut the hold where the hand must leave to reach the next gesture unhurried.
            following = events[i + 1].keys[0]
            nxt = following.mirrored() if mirror else following
            own = own[: event.essential] + [
                k for k in own[event.essential :]
                if k.time + transit(k.position, nxt.position, style.tempo) <= nxt.time
            ]
        first = own[0]
        last = keys[-1]
        if at_rest:
            prep = travel(last.position, first.position, 0.3, 1.2, 0.4, 0.9)
            if first.time - prep > last.time + 0.05:
                keys.append(rest_key(first.time - prep))
        else:
            gap = first.time - last.time
            retract = travel(last.position, tuple(rest), 0.35, 0.8, 0.45, 0.9)
            prep = travel(tuple(rest), first.position, 0.3, 1.2, 0.4, 0.9)
            if gap > retract + prep + 0.35 / style.tempo:
                keys.append(rest_key(last.time + retract))
                keys.append(rest_key(first.time - prep))
            elif gap > 0.6 / style.tempo:
                # Within a gesture unit: sag toward rest, but stay up for the next stroke.
                sag = np.asarray(last.position) + 0.3 * (rest - np.asarray(last.position))
                keys.append(replace(last, time=last.time + 0.45 * gap, position=tuple(sag),
                                    shape="relaxed", velocity=(0.0, 0.0, 0.0)))
        keys.extend(k for k in own if k.time > keys[-1].time + 1e-3)
        at_rest = False
    if not at_rest:
        retract = travel(keys[-1].position, tuple(rest), 0.35, 0.8, 0.45, 0.9)
        keys.append(rest_key(keys[-1].time + retract))
    return keys
