from typing import Any, Final, TypeVar

import torch as th
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_vpg.reinforce.policies import MlpPolicy
from sb3_vpg.reinforce.reinforce import REINFORCE

SelfVPG = TypeVar("SelfVPG", bound="VPG")

# Spinning Up's VPG (https://spinningup.openai.com/en/latest/algorithms/vpg.html): pi_lr, steps_per_epoch, lam,
# train_v_iters and vf_lr
SPINNING_UP_DEFAULTS: Final[dict[str, Any]] = {
    "learning_rate": 3e-4,
    "n_steps": 4000,
    "gae_lambda": 0.97,
    "n_value_steps": 80,
    "vf_learning_rate": 1e-3,
}


class VPG(REINFORCE):
    """
    Vanilla Policy Gradient with OpenAI Spinning Up's defaults: :class:`~sb3_vpg.REINFORCE` with a learned value
    baseline trained by an optimizer of its own (policy learning rate 3e-4, value learning rate 1e-3, 80 value
    steps per update), GAE(lambda=0.97) advantages, 4000 steps per update (per env), and unfinished episodes
    bootstrapped with ``V(s_T)``. The same algorithm and code as REINFORCE; only the defaults differ, and every
    parameter is REINFORCE's.

    Paper: Sutton et al. (2000), "Policy Gradient Methods for Reinforcement Learning with Function
    Approximation"; Schulman et al. (2016), "High-Dimensional Continuous Control Using GAE",
    https://arxiv.org/abs/1506.02438
    Code: https://spinningup.openai.com/en/latest/algorithms/vpg.html

    Both optimizers are the policy's ``optimizer_class`` (SB3's Adam, ``eps=1e-5``) unless ``vf_optimizer_class``
    says otherwise. ``vf_learning_rate=None`` gives one optimizer for both, as in SB3's A2C/PPO (a VPG saved by
    sb3-vpg before 0.3.0 had one and keeps training that way). Without a baseline this is REINFORCE: use that class
    (``VPG(use_baseline=False)`` would also need ``gae_lambda=1, n_value_steps=1, vf_learning_rate=None``).

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The policy's learning rate (Spinning Up's ``pi_lr``), or a schedule of the progress
        remaining
    :param n_steps: Number of steps to run for each environment per update (Spinning Up's ``steps_per_epoch``;
        default 4000, or None when batching by ``n_episodes``)
    :param n_episodes: Update after this many episodes have ended instead of after ``n_steps`` (see REINFORCE)
    :param gamma: Discount factor, in [0, 1]
    :param gae_lambda: GAE lambda (Spinning Up's ``lam``)
    :param normalize_advantage: ``"none"``, ``"batch"`` or ``"episode"`` (see REINFORCE)
    :param use_baseline: Learn a value baseline
    :param vf_coef: Weight of the value loss, >= 0
    :param n_value_steps: Gradient steps on the value loss per update (Spinning Up's ``train_v_iters``)
    :param vf_learning_rate: The value optimizer's learning rate (Spinning Up's ``vf_lr``), or a schedule; None for
        one optimizer (see REINFORCE)
    :param vf_optimizer_class: The value optimizer's class (default: the policy's ``optimizer_class``)
    :param vf_optimizer_kwargs: Its keyword arguments besides the learning rate (default: the policy's)
    :param ent_coef: Entropy bonus coefficient, >= 0
    :param max_grad_norm: Clip the gradient to this global norm; None for no clipping
    :param max_importance_weight: Truncated importance weights for steps drawn by an older policy (see REINFORCE)
    :param reset_on_reward: Pong point-boundary mode (see REINFORCE)
    :param bootstrap_incomplete: Cut the episodes still running when a rollout ends and bootstrap them with
        ``V(s_T)`` (default: True with ``n_steps`` batching, False with ``n_episodes``)
    :param loss_reduction: ``"mean"`` or ``"sum"`` over the steps of an update
    :param batch_size: Steps per forward/backward pass (the gradient is accumulated); None for all at once
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE (-1: once per rollout)
    :param rollout_buffer_class: Rollout buffer class, a subclass of ``EpisodicRolloutBuffer``
    :param rollout_buffer_kwargs: Keyword arguments to pass to the rollout buffer on creation
    :param stats_window_size: Window size for the rollout logging (episodes averaged)
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation
    :param verbose: Verbosity level: 0 no output, 1 info, 2 debug
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    def __init__(
        self,
        policy: str | type[MlpPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = SPINNING_UP_DEFAULTS["learning_rate"],
        n_steps: int | None = None,
        n_episodes: int | None = None,
        gamma: float = 0.99,
        gae_lambda: float = SPINNING_UP_DEFAULTS["gae_lambda"],
        normalize_advantage: str | bool = "batch",
        use_baseline: bool = True,
        vf_coef: float = 0.5,
        n_value_steps: int = SPINNING_UP_DEFAULTS["n_value_steps"],
        vf_learning_rate: float | Schedule | None = SPINNING_UP_DEFAULTS["vf_learning_rate"],
        vf_optimizer_class: type[th.optim.Optimizer] | None = None,
        vf_optimizer_kwargs: dict[str, Any] | None = None,
        ent_coef: float = 0.0,
        max_grad_norm: float | None = None,
        max_importance_weight: float | None = None,
        reset_on_reward: bool = False,
        bootstrap_incomplete: bool | None = None,
        loss_reduction: str = "mean",
        batch_size: int | None = None,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        rollout_buffer_class: type[RolloutBuffer] | None = None,
        rollout_buffer_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ):
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=SPINNING_UP_DEFAULTS["n_steps"] if n_steps is None and n_episodes is None else n_steps,
            n_episodes=n_episodes,
            gamma=gamma,
            gae_lambda=gae_lambda,
            normalize_advantage=normalize_advantage,
            use_baseline=use_baseline,
            vf_coef=vf_coef,
            n_value_steps=n_value_steps,
            vf_learning_rate=vf_learning_rate,
            vf_optimizer_class=vf_optimizer_class,
            vf_optimizer_kwargs=vf_optimizer_kwargs,
            ent_coef=ent_coef,
            max_grad_norm=max_grad_norm,
            max_importance_weight=max_importance_weight,
            reset_on_reward=reset_on_reward,
            bootstrap_incomplete=bootstrap_incomplete,
            loss_reduction=loss_reduction,
            batch_size=batch_size,
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            rollout_buffer_class=rollout_buffer_class,
            rollout_buffer_kwargs=rollout_buffer_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=_init_setup_model,
        )

    def learn(
        self: SelfVPG,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 100,
        tb_log_name: str = "VPG",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfVPG:
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)
