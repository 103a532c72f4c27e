"""
Small envs for examples and tests. Importing this module registers ``TinyTour-v0`` with gymnasium (for the zoo:
``--gym-packages sb3_vpg.common.envs``).
"""

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class TinyTourEnv(gym.Env[np.ndarray, np.int64]):
    """
    A travelling-salesman toy with action masks: visit every city once, starting from city 0, and return to it.

    The cities are fixed for the env (drawn in the unit square from ``instance_seed``), so that the shortest tour is
    known exactly (:meth:`shortest_tour_length`, by brute force). An observation is the current city (one-hot)
    followed by the visited cities (flags); an action is the next city. The reward of a step is minus the distance
    travelled (the way back to city 0 is added to the step that visits the last city), so an episode's return is
    minus its tour length. Going to a city already visited is infeasible: the episode ends with
    ``-invalid_penalty``, longer than any tour. ``action_masks()`` allows exactly the unvisited cities (the
    protocol of sb3-contrib's MaskablePPO).

    :param n_cities: Number of cities (at least 2; brute force of :meth:`shortest_tour_length` grows as
        ``(n_cities - 1)!``)
    :param instance_seed: Seed of the cities' positions
    :param invalid_penalty: The cost of an infeasible action (positive; the default is above the longest tour
        possible in the unit square for the default 7 cities)
    """

    def __init__(self, n_cities: int = 7, instance_seed: int = 0, invalid_penalty: float = 10.0):
        if not isinstance(n_cities, int) or n_cities < 2:
            raise ValueError(f"n_cities must be an integer >= 2, got {n_cities!r}")
        if not invalid_penalty > 0:
            raise ValueError(f"invalid_penalty must be a positive number, got {invalid_penalty!r}")
        self.n_cities = n_cities
        self.invalid_penalty = float(invalid_penalty)
        self.cities = np.random.default_rng(instance_seed).random((n_cities, 2))
        self.distances = np.linalg.norm(self.cities[:, None] - self.cities[None], axis=-1)
        self.observation_space = spaces.Box(0.0, 1.0, (2 * n_cities,), np.float32)
        self.action_space = spaces.Discrete(n_cities)
        self.current = 0
        self.visited = np.zeros(n_cities, dtype=bool)

    def _observation(self) -> np.ndarray:
        observation = np.zeros(2 * self.n_cities, dtype=np.float32)
        observation[self.current] = 1.0
        observation[self.n_cities :] = self.visited
        return observation

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.current = 0
        self.visited[:] = False
        self.visited[0] = True
        return self._observation(), {}

    def action_masks(self) -> np.ndarray:
        """True for the cities that may be visited next (those not visited yet)."""
        return ~self.visited

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        city = int(action)
        if self.visited[city]:
            return self._observation(), -self.invalid_penalty, True, False, {"infeasible": True}
        distance = self.distances[self.current, city]
        self.current = city
        self.visited[city] = True
        done = bool(self.visited.all())
        if done:
            distance += self.distances[city, 0]
        return self._observation(), -float(distance), done, False, {"infeasible": False}

    def tour_length(self, tour: tuple[int, ...]) -> float:
        """Length of the closed tour ``0 -> tour[0] -> ... -> tour[-1] -> 0``."""
        stops = (0, *tour, 0)
        return float(sum(self.distances[a, b] for a, b in itertools.pairwise(stops)))

    def shortest_tour_length(self) -> float:
        """The length of the shortest tour, by trying every order of the cities."""
        return min(self.tour_length(order) for order in itertools.permutations(range(1, self.n_cities)))


gym.register("TinyTour-v0", entry_point="sb3_vpg.common.envs:TinyTourEnv", max_episode_steps=100)
