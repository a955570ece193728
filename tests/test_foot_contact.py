"""Planted feet stay planted: root drift under a foot on the floor is taken out."""

from __future__ import annotations

import numpy as np

from core.eval.performance import foot_skate
from core.foot_contact import planted_root
from core.motion import Motion


def test_a_root_sliding_under_planted_feet_is_stopped():
    motion = Motion.rest(90, 30.0, "arkit52")
    motion.trans[:, 0] = np.linspace(0.0, 0.2, 90)  # 20 cm of slide in 3 s, feet on the floor
    assert foot_skate(motion) > 5.0
    fixed = planted_root(motion.poses, motion.trans)
    assert np.allclose(fixed[:, 0], 0.0, atol=1e-6) and np.array_equal(fixed[:, 1],
                                                                        motion.trans[:, 1])
    motion.trans[:] = fixed
    assert foot_skate(motion) < 1e-3


def test_the_root_follows_its_decoded_path_while_no_foot_is_down():
    motion = Motion.rest(60, 30.0, "arkit52")
    motion.trans[20:40, 1] = 0.3  # a jump: both feet leave the floor
    motion.trans[:, 2] = np.linspace(0.0, 0.6, 60)
    fixed = planted_root(motion.poses, motion.trans)
    in_air = np.diff(fixed[20:40, 2])
    assert np.allclose(in_air, np.diff(motion.trans[20:40, 2]))
    assert np.allclose(np.diff(fixed[:19, 2]), 0.0, atol=1e-6)
