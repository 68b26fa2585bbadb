"""Circle-crossing scenes simulated with ORCA (van den Berg, Guy, Lin and Manocha, "Reciprocal
n-Body Collision Avoidance", ISRR 2009), through the RVO2 library's Python bindings (``pyrvo``).

The scene generator follows Trajnet++'s ``generate_circle_crossing`` (Kothari et al., T-ITS 2021),
which the causalmotion synthetic data was made with: agents start on a circle of radius 4 m
(plus uniform noise in [-0.5, 0.5] m per coordinate), their goal is the diametrically opposite
point, preferred velocity points to the goal with speed at most 1 m/s, and the ORCA radius of
every agent is the environment's *style*: ORCA keeps agent centres at least ``2 * radius``
apart. causalmotion's files are named ``orca_circle_crossing_..._{radius}_radius_2.0_horizon``:
time horizon 2 s here too; neighbour distance 10 m, 10 neighbours, max speed 1 m/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OrcaConfig:
    """ORCA and scene parameters (defaults: the causalmotion / Trajnet++ circle crossing)."""

    radius: float = 0.3
    time_horizon: float = 2.0
    neighbor_dist: float = 10.0
    max_neighbors: int = 10
    time_horizon_obst: float = 5.0
    max_speed: float = 1.0
    circle_radius: float = 4.0
    start_noise: float = 0.5
    sim_fps: float = 10.0
    frame_rate: float = 2.5

    def __post_init__(self) -> None:
        for name in ("radius", "time_horizon", "neighbor_dist", "max_speed", "circle_radius", "sim_fps", "frame_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"OrcaConfig.{name} must be > 0; got {getattr(self, name)}")
        steps = self.sim_fps / self.frame_rate
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"sim_fps ({self.sim_fps}) must be a multiple of frame_rate ({self.frame_rate})")


def sample_circle_crossing(rng: np.random.Generator, num_agents: int, cfg: OrcaConfig) -> tuple[np.ndarray, np.ndarray]:
    """Start and goal positions, ``(A, 2)`` each: start on the circle plus noise, goal = -start.

    Starts (and goals) are redrawn until every pair is more than ``max(0.8, 2 radius + 0.1)``
    apart (0.8 m is Trajnet++'s distance; the margin keeps large radii collision-free at t=0).
    """
    min_dist = max(0.8, 2 * cfg.radius + 0.1)
    starts: list[np.ndarray] = []
    for _ in range(num_agents):
        for _attempt in range(10_000):
            angle = rng.uniform(0.0, 2 * np.pi)
            p = cfg.circle_radius * np.array([np.cos(angle), np.sin(angle)])
            p = p + rng.uniform(-cfg.start_noise, cfg.start_noise, size=2)
            if all(np.linalg.norm(p - q) > min_dist and np.linalg.norm(-p + q) > min_dist for q in starts):
                break
        else:
            raise RuntimeError(f"could not place {num_agents} agents of radius {cfg.radius} on the circle")
        starts.append(p)
    start = np.stack(starts)
    return start, -start


def simulate(start: np.ndarray, goal: np.ndarray, cfg: OrcaConfig, num_frames: int,
             *, record_every_step: bool = False) -> np.ndarray:
    """Run ORCA from ``start`` towards ``goal``.

    Returns ``(A, num_frames, 2)`` positions sampled at ``frame_rate`` (frame 0 = start), or,
    with ``record_every_step``, ``(A, 1 + (num_frames - 1) * sim_fps / frame_rate, 2)`` at every
    simulator step (to check the separation between frames).
    """
    import pyrvo

    sim = pyrvo.RVOSimulator(1.0 / cfg.sim_fps, cfg.neighbor_dist, cfg.max_neighbors, cfg.time_horizon,
                             cfg.time_horizon_obst, cfg.radius, cfg.max_speed)
    for p in start:
        sim.add_agent((float(p[0]), float(p[1])))
    per_frame = round(cfg.sim_fps / cfg.frame_rate)
    n_steps = (num_frames - 1) * per_frame
    pos = np.array(start, dtype=np.float64)
    out = [pos.copy()]
    for step in range(1, n_steps + 1):
        to_goal = goal - pos
        dist = np.linalg.norm(to_goal, axis=1, keepdims=True)
        pref = np.where(dist > cfg.max_speed, cfg.max_speed * to_goal / np.maximum(dist, 1e-12), to_goal)
        for i, v in enumerate(pref):
            sim.set_agent_pref_velocity(i, (float(v[0]), float(v[1])))
        sim.do_step()
        pos = np.array([sim.get_agent_position(i).to_tuple() for i in range(len(start))])
        if record_every_step or step % per_frame == 0:
            out.append(pos.copy())
    return np.stack(out, axis=1)


def circle_crossing_scenes(num_scenes: int, cfg: OrcaConfig, *, seed: int, num_agents: int = 2,
                           num_frames: int = 20) -> np.ndarray:
    """``(num_scenes, num_agents, num_frames, 2)`` circle-crossing scenes, reproducible from ``seed``."""
    if num_scenes < 1 or num_agents < 1 or num_frames < 2:
        raise ValueError(f"need num_scenes >= 1, num_agents >= 1, num_frames >= 2; got {num_scenes}, {num_agents}, {num_frames}")
    rng = np.random.default_rng(seed)
    scenes = np.empty((num_scenes, num_agents, num_frames, 2))
    for s in range(num_scenes):
        start, goal = sample_circle_crossing(rng, num_agents, cfg)
        scenes[s] = simulate(start, goal, cfg, num_frames)
    return scenes
