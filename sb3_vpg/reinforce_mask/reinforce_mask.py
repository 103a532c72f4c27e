from typing import ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import MaybeCallback, PyTorchObs
from stable_baselines3.common.vec_env import VecEnv

from sb3_vpg.common.maskable import MaskableDictEpisodicRolloutBuffer, MaskableEpisodicRolloutBuffer, check_action_masks
from sb3_vpg.common.validation import ArgumentValueError
from sb3_vpg.reinforce.reinforce import REINFORCE
from sb3_vpg.reinforce_mask.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

SelfMaskableREINFORCE = TypeVar("SelfMaskableREINFORCE", bound="MaskableREINFORCE")


class MaskableREINFORCE(REINFORCE):
    """
    :class:`~sb3_vpg.REINFORCE` with invalid action masking, as sb3-contrib's ``MaskablePPO`` does it: a
    MaskablePPO user changes the import and the class name.

    Background: Huang & Ontañón (2022), "A Closer Look at Invalid Action Masking in Policy Gradient Algorithms",
    https://arxiv.org/abs/2006.14171; REINFORCE with masked infeasible actions is the update of Kool et al. (2019),
    "Attention, Learn to Solve Routing Problems!", https://arxiv.org/abs/1803.08475

    The env exposes ``action_masks()`` (or is wrapped in sb3-contrib's ``ActionMasker``). Before every step the
    masks are read with sb3-contrib's ``get_action_masks(env)`` and checked (one flag per action, at least one
    allowed action per env and sub-space); the policy (sb3-contrib's ``MaskableActorCriticPolicy``) samples only
    allowed actions; the buffer keeps each step's masks, carried steps included, and the update applies them again,
    so log-probabilities and entropy are those of the masked distribution. ``predict(obs, action_masks=...)``
    takes masks as MaskablePPO's does; sb3-contrib's ``evaluate_policy`` and ``MaskableEvalCallback`` pass them.
    Masks apply to ``Discrete``, ``MultiDiscrete`` and ``MultiBinary`` action spaces. The numpy rollout actor of
    REINFORCE steps aside: actions are sampled by the torch policy.

    Every parameter is REINFORCE's (the policy must be a ``MaskableActorCriticPolicy``; gSDE, which is for ``Box``
    actions, is not available). ``learn`` has MaskablePPO's ``use_masking``.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    policy: MaskableActorCriticPolicy  # type: ignore[assignment]
    rollout_buffer: MaskableEpisodicRolloutBuffer
    # Whether rollouts read and apply the env's masks; set by each learn(use_masking=...)
    use_masking: bool = True

    def _setup_model(self) -> None:
        if not (isinstance(self.policy_class, type) and issubclass(self.policy_class, MaskableActorCriticPolicy)):
            raise ArgumentValueError(
                f"{type(self).__name__} needs a MaskableActorCriticPolicy (sb3-contrib's, e.g. 'MlpPolicy'), got "
                f"{getattr(self.policy_class, '__name__', self.policy_class)}"
            )
        if self.use_sde:
            raise ArgumentValueError(f"use_sde=True is for Box action spaces; {type(self).__name__} masks discrete actions")
        if self.rollout_buffer_class is None:
            is_dict = isinstance(self.observation_space, spaces.Dict)
            self.rollout_buffer_class = MaskableDictEpisodicRolloutBuffer if is_dict else MaskableEpisodicRolloutBuffer
        elif not issubclass(self.rollout_buffer_class, MaskableEpisodicRolloutBuffer):
            raise ArgumentValueError(
                f"rollout_buffer_class must be a MaskableEpisodicRolloutBuffer (sb3_vpg.common.maskable) to keep the "
                f"action masks, got {self.rollout_buffer_class.__name__}"
            )
        # an attribute of the instance (the class's default, or a loaded model's), so that every saved file has it
        # and REINFORCE.load can tell a masked model (saved_models.check_saved_by)
        self.use_masking = self.use_masking
        super()._setup_model()

    def _make_policy(self) -> BasePolicy:
        # MaskableActorCriticPolicy takes no use_sde
        return self.policy_class(self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs)

    def _action_masks(self, env: VecEnv) -> np.ndarray | None:
        if not self.use_masking:
            return None
        return check_action_masks(get_action_masks(env), self.action_space, env.num_envs)

    def _get_distribution(self, observations: PyTorchObs, action_masks: np.ndarray | th.Tensor | None) -> Distribution:
        return self.policy.get_distribution(observations, action_masks=action_masks)  # type: ignore[arg-type]

    def _evaluate_actions(
        self, observations: PyTorchObs, actions: th.Tensor, action_masks: th.Tensor | None
    ) -> tuple[th.Tensor, th.Tensor, th.Tensor | None]:
        return self.policy.evaluate_actions(observations, actions, action_masks=action_masks)  # type: ignore[arg-type]

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """
        The policy's action (and state, None) for an observation, as MaskablePPO's.

        :param observation: The observation (one, or one per env)
        :param state: Unused (no recurrent policy)
        :param episode_start: Unused (no recurrent policy)
        :param deterministic: The most likely allowed action instead of a sample
        :param action_masks: Masks of the allowed actions (as the env's ``action_masks()`` gives them); None
            allows every action
        """
        return self.policy.predict(observation, state, episode_start, deterministic, action_masks=action_masks)

    def learn(  # type: ignore[override]
        self: SelfMaskableREINFORCE,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 100,
        tb_log_name: str = "MaskableREINFORCE",
        reset_num_timesteps: bool = True,
        use_masking: bool = True,
        progress_bar: bool = False,
    ) -> SelfMaskableREINFORCE:
        """REINFORCE's ``learn``; ``use_masking=False`` trains without reading the env's masks (every action
        allowed), as MaskablePPO's."""
        self.use_masking = use_masking
        if use_masking and self.env is not None and not is_masking_supported(self.env):
            raise ValueError(
                "the env has no action_masks() method: wrap it in sb3_contrib.common.wrappers.ActionMasker, or "
                "train without masks with learn(use_masking=False)"
            )
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)
