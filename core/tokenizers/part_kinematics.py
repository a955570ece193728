"""Differentiable forward kinematics of one body part (torch), for the motion VQ-VAE's position
loss."""

from __future__ import annotations

import torch
from torch import nn

from core.rotations import rot6d_to_matrix
from core.skeleton import PARENTS, PART_JOINTS, default_rest_offsets, positions_from_offsets


class PartKinematics(nn.Module):
    """Differentiable joint positions of one part from its 6D rotations, every other joint at rest.

    Only the part's joints and their ancestors are posed (default rest skeleton, root at the
    origin), which is all the position loss needs. Ancestors outside the part stay at their rest
    positions with no rotation, so they are constants; the posed joints are processed one tree
    level at a time, a few batched products instead of one per joint.
    """

    def __init__(self, part: str) -> None:
        super().__init__()
        self.part_joints = list(PART_JOINTS[part])
        members = set(self.part_joints)
        posed: set[int] = set()  # part joints and everything below one of them
        depth: dict[int, int] = {}
        for joint in sorted({j for p in self.part_joints for j in _ancestors(p)}):
            parent = PARENTS[joint]
            depth[joint] = 0 if parent < 0 else depth[parent] + 1
            if joint in members or parent in posed:
                posed.add(joint)
        self.levels = [sorted(j for j in posed if depth[j] == d)
                       for d in sorted({depth[j] for j in posed})]
        self.local_index = {joint: k for k, joint in enumerate(self.part_joints)}
        rest = positions_from_offsets(default_rest_offsets())
        # Derived from the skeleton, not learned: kept out of checkpoints.
        self.register_buffer("offsets", torch.tensor(default_rest_offsets(), dtype=torch.float32),
                             persistent=False)
        self.register_buffer("rest", torch.tensor(rest, dtype=torch.float32), persistent=False)

    def forward(self, rot6d: torch.Tensor) -> torch.Tensor:
        """(..., J, 6) rotations of the part's joints -> (..., J, 3) positions in metres."""
        local = rot6d_to_matrix(rot6d)
        batch = rot6d.shape[:-2]
        eye = torch.eye(3, dtype=rot6d.dtype, device=rot6d.device).expand(*batch, 3, 3)
        offsets, rest = self.offsets.to(rot6d.dtype), self.rest.to(rot6d.dtype)
        world: dict[int, torch.Tensor] = {}
        position: dict[int, torch.Tensor] = {}

        def parent_state(joint: int) -> tuple[torch.Tensor, torch.Tensor]:
            parent = PARENTS[joint]
            if parent < 0:
                return eye, torch.zeros_like(rest[0]).expand(*batch, 3)
            if parent in world:
                return world[parent], position[parent]
            return eye, rest[parent].expand(*batch, 3)  # an unposed ancestor, at rest

        for level in self.levels:
            parents = [parent_state(joint) for joint in level]
            parent_world = torch.stack([w for w, _ in parents], dim=-3)
            parent_position = torch.stack([p for _, p in parents], dim=-2)
            rotations = torch.stack(
                [local[..., self.local_index[j], :, :] if j in self.local_index else eye
                 for j in level], dim=-3)
            level_world = parent_world @ rotations
            bones = (parent_world @ offsets[level][..., None])[..., 0]
            level_position = parent_position + bones
            for k, joint in enumerate(level):
                world[joint] = level_world[..., k, :, :]
                position[joint] = level_position[..., k, :]
        return torch.stack([position[j] for j in self.part_joints], dim=-2)


def _ancestors(joint: int) -> list[int]:
    """The joint and every joint above it up to the root."""
    chain = []
    while joint >= 0:
        chain.append(joint)
        joint = PARENTS[joint]
    return chain
