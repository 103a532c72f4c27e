import io
import pathlib
import warnings
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule, TensorDict
from stable_baselines3.common.utils import FloatSchedule, explained_variance, obs_as_tensor, update_learning_rate
from stable_baselines3.common.vec_env import VecEnv
from torch.nn import functional as F

from sb3_vpg.common.buffers import NORMALIZE_MODES, EpisodicRolloutBuffer, NormalizeMode, Observation
from sb3_vpg.common.capabilities import rollout_actor, takes_sparse_features
from sb3_vpg.common.sparse import sparse_rows
from sb3_vpg.common.value_optimizer import split_value_parameters
from sb3_vpg.reinforce.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

SelfREINFORCE = TypeVar("SelfREINFORCE", bound="REINFORCE")

DEFAULT_N_STEPS = 2048


def _check_in_unit_interval(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def _check_positive_int(name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        expected = "a positive integer or None" if allow_none else "a positive integer"
        raise ValueError(f"{name} must be {expected}, got {value!r}")


def _as_normalize_mode(value: str | bool) -> NormalizeMode:
    if value is True:
        return "batch"
    if value is False:
        return "none"
    if value not in NORMALIZE_MODES:
        raise ValueError(f"normalize_advantage must be one of {NORMALIZE_MODES} (or a bool), got {value!r}")
    return value  # type: ignore[return-value]


class REINFORCE(OnPolicyAlgorithm):
    """
    REINFORCE: Monte-Carlo policy gradient with per-episode reward-to-go, optionally with a learned baseline.

    Paper: Williams (1992), "Simple statistical gradient-following algorithms for connectionist
    reinforcement learning", https://doi.org/10.1007/BF00992696
    Code: the update of Karpathy's "Pong from Pixels" (http://karpathy.github.io/2016/05/31/rl/) and of
    OpenAI Spinning Up's VPG (https://spinningup.openai.com/en/latest/algorithms/vpg.html), on SB3's
    ``OnPolicyAlgorithm``.

    Each step enters the gradient ``-mean_t(A_t * log pi(a_t|s_t))`` with ``A_t`` its discounted reward-to-go
    ``G_t = sum_k gamma^k r_{t+k}`` up to the end of its own episode (minus ``V(s_t)`` with a baseline, GAE with
    ``gae_lambda < 1``). Returns are exact or absent: a step whose episode has not ended when the rollout stops
    is carried into the next rollout and enters a later update once its episode ends (or, with
    ``bootstrap_incomplete=True``, is bootstrapped with ``V(s_T)``). An episode cut by a time limit
    (``TimeLimit.truncated``) is bootstrapped with ``V(terminal_observation)`` when there is a baseline and
    treated as ended when there is none. One update is one optimiser step over all the ready steps.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function of the current progress remaining (from 1 to 0)
    :param n_steps: Number of steps to run for each environment per update, as in A2C/PPO
        (default 2048 when ``n_episodes`` is not given either)
    :param n_episodes: Update after this many episodes have ended (seeds 000 and 001: "update every N
        episodes") instead of after ``n_steps``; all episodes that ended by then enter the update
        (with several envs, a few more than ``n_episodes`` may end on the same step). Exclusive with ``n_steps``.
    :param gamma: Discount factor, in [0, 1]
    :param gae_lambda: GAE lambda in [0, 1]; values below 1 need ``use_baseline=True``
    :param normalize_advantage: How to standardise the returns (advantages with a baseline) of an update:
        ``"none"``, ``"batch"`` over all its steps (seed 001), or ``"episode"`` within each episode (seed 000).
        ``True``/``False`` mean ``"batch"``/``"none"``.
    :param use_baseline: Learn a value function ``V(s)`` and subtract it from the returns. Without it the
        policy's value head is neither evaluated nor trained.
    :param vf_coef: Weight of the value loss (with a baseline)
    :param n_value_steps: Gradient steps on the value loss per update (with a baseline; Spinning Up's
        ``train_v_iters``). With one optimizer the first one is taken together with the policy step, the others
        on the value loss alone; with a value optimizer (``vf_learning_rate``) all of them are its own steps,
        after the policy step.
    :param vf_learning_rate: A separate optimizer for the value function, with this learning rate (a float or
        a schedule of the progress remaining, as ``learning_rate``); needs ``use_baseline``. None (default): the
        policy's one optimizer trains the actor and the value function together with ``learning_rate``, as in
        A2C/PPO. With a value optimizer, it trains the parameters only the value function uses (its head and
        layers of its own) on ``vf_coef`` times the value loss; the policy optimizer trains all the others on the
        policy loss (and entropy) alone, so a layer shared by actor and value function (``KarpathyPolicy(
        value_head=True)``'s hidden layer, a shared ``net_arch`` or features extractor) learns from the policy
        loss only.
    :param vf_optimizer_class: The value optimizer's class (default: the policy's ``optimizer_class``)
    :param vf_optimizer_kwargs: Its keyword arguments besides the learning rate (default: the policy's
        ``optimizer_kwargs``)
    :param ent_coef: Entropy bonus coefficient
    :param max_grad_norm: Clip the gradient to this global norm; None for no clipping
    :param reset_on_reward: Pong point-boundary mode: the discounted sum restarts after every non-zero reward
        (seed 000's ``discount_rewards``), so each point is its own return horizon
    :param bootstrap_incomplete: Cut the episodes still running when a rollout ends and bootstrap them with
        ``V(s_T)`` (needs ``use_baseline``) instead of carrying them into the next rollout. Default: True with a
        baseline and ``n_steps`` batching, False otherwise.
    :param loss_reduction: ``"mean"`` (default, as A2C) or ``"sum"`` over the steps of an update. Seed 000 sums
        the gradient over its 10-episode batch; with RMSProp's ``eps`` the two are not equivalent.
    :param batch_size: Steps per forward/backward pass when computing the gradient (it is accumulated over
        all of them before the single optimiser step, so this only bounds memory); None for all at once
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE (-1: once per rollout)
    :param rollout_buffer_class: Rollout buffer class, a subclass of ``EpisodicRolloutBuffer`` (default)
    :param rollout_buffer_kwargs: Keyword arguments to pass to the rollout buffer on creation
    :param stats_window_size: Window size for the rollout logging (episodes averaged)
    :param tensorboard_log: the log location for tensorboard (if None, no logging)
    :param policy_kwargs: additional arguments to be passed to the policy on creation (e.g. ``net_arch``,
        ``optimizer_class``, ``optimizer_kwargs``)
    :param verbose: Verbosity level: 0 no output, 1 info, 2 debug
    :param seed: Seed for the pseudo random generators
    :param device: Device (cpu, cuda, ...) on which the code should be run.
    :param _init_setup_model: Whether or not to build the network at the creation of the instance
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    rollout_buffer: EpisodicRolloutBuffer

    def __init__(
        self,
        policy: str | type[MlpPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-3,
        n_steps: int | None = None,
        n_episodes: int | None = None,
        gamma: float = 0.99,
        gae_lambda: float = 1.0,
        normalize_advantage: str | bool = "batch",
        use_baseline: bool = False,
        vf_coef: float = 0.5,
        n_value_steps: int = 1,
        vf_learning_rate: float | Schedule | None = None,
        vf_optimizer_class: type[th.optim.Optimizer] | None = None,
        vf_optimizer_kwargs: dict[str, Any] | None = None,
        ent_coef: float = 0.0,
        max_grad_norm: float | None = None,
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
        # Check every argument before anything is built, so that mistakes surface here and not inside learn().
        if n_steps is not None and n_episodes is not None:
            raise ValueError(f"pass either n_steps or n_episodes, not both (got {n_steps=}, {n_episodes=})")
        _check_positive_int("n_steps", n_steps, allow_none=True)
        _check_positive_int("n_episodes", n_episodes, allow_none=True)
        _check_in_unit_interval("gamma", gamma)
        _check_in_unit_interval("gae_lambda", gae_lambda)
        self.normalize_advantage = _as_normalize_mode(normalize_advantage)
        if gae_lambda < 1 and not use_baseline:
            raise ValueError(f"gae_lambda < 1 (got {gae_lambda}) needs a learned baseline: set use_baseline=True")
        if vf_coef < 0:
            raise ValueError(f"vf_coef must be >= 0, got {vf_coef!r}")
        _check_positive_int("n_value_steps", n_value_steps)
        if n_value_steps > 1 and not use_baseline:
            raise ValueError(f"n_value_steps > 1 (got {n_value_steps}) needs a learned baseline: set use_baseline=True")
        if vf_learning_rate is not None:
            if not use_baseline:
                raise ValueError("vf_learning_rate (a value optimizer) needs a learned baseline: set use_baseline=True")
            if not callable(vf_learning_rate) and not (isinstance(vf_learning_rate, float | int) and vf_learning_rate > 0):
                raise ValueError(f"vf_learning_rate must be a positive float, a schedule or None, got {vf_learning_rate!r}")
        elif vf_optimizer_class is not None or vf_optimizer_kwargs is not None:
            raise ValueError("vf_optimizer_class and vf_optimizer_kwargs need a value optimizer: set vf_learning_rate")
        if max_grad_norm is not None and not max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be a positive float or None, got {max_grad_norm!r}")
        if bootstrap_incomplete is None:
            bootstrap_incomplete = use_baseline and n_episodes is None
        if bootstrap_incomplete and not use_baseline:
            raise ValueError("bootstrap_incomplete=True needs a learned baseline: set use_baseline=True")
        if loss_reduction not in ("mean", "sum"):
            raise ValueError(f"loss_reduction must be 'mean' or 'sum', got {loss_reduction!r}")
        _check_positive_int("batch_size", batch_size, allow_none=True)
        if rollout_buffer_class is not None and not issubclass(rollout_buffer_class, EpisodicRolloutBuffer):
            raise ValueError(f"rollout_buffer_class must be a subclass of EpisodicRolloutBuffer, got {rollout_buffer_class!r}")
        reserved = {"bootstrap_incomplete", "reset_on_reward", "normalize_advantage", "gamma", "gae_lambda"}
        if rollout_buffer_kwargs is not None and reserved & set(rollout_buffer_kwargs):
            raise ValueError(
                f"rollout_buffer_kwargs must not contain {sorted(reserved & set(rollout_buffer_kwargs))}: "
                "pass them to REINFORCE itself"
            )

        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps if n_steps is not None else (DEFAULT_N_STEPS if n_episodes is None else 1),
            gamma=gamma,
            gae_lambda=gae_lambda,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,  # type: ignore[arg-type]
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            rollout_buffer_class=rollout_buffer_class or EpisodicRolloutBuffer,
            rollout_buffer_kwargs=rollout_buffer_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            device=device,
            seed=seed,
            _init_setup_model=False,
            supported_action_spaces=(spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary),
        )
        self.max_grad_norm: float | None = max_grad_norm  # type: ignore[assignment]
        self.n_episodes = n_episodes
        self.use_baseline = use_baseline
        self.n_value_steps = n_value_steps
        self.vf_learning_rate = vf_learning_rate
        self.vf_optimizer_class = vf_optimizer_class
        self.vf_optimizer_kwargs = vf_optimizer_kwargs
        self.value_optimizer: th.optim.Optimizer | None = None
        self.reset_on_reward = reset_on_reward
        self.bootstrap_incomplete = bootstrap_incomplete
        self.loss_reduction = loss_reduction
        self.batch_size = batch_size

        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self.rollout_buffer_kwargs = {
            **self.rollout_buffer_kwargs,
            "bootstrap_incomplete": self.bootstrap_incomplete,
            "reset_on_reward": self.reset_on_reward,
            "normalize_advantage": self.normalize_advantage,
        }
        super()._setup_model()
        # A policy that takes sparse features trains on the stored non-zero entries directly (no dense copy)
        self.rollout_buffer.sparse_samples = self.rollout_buffer.sparse_observations and takes_sparse_features(self.policy)
        if self.use_baseline and getattr(self.policy, "value_net", None) is None:
            raise ValueError(
                f"use_baseline=True needs a policy with a value head; {type(self.policy).__name__} has none "
                "(for KarpathyPolicy: policy_kwargs=dict(value_head=True))"
            )
        self._setup_optimizers()

    def _setup_optimizers(self) -> None:
        """With ``vf_learning_rate``: the policy optimizer on every parameter but the value function's own, and
        the value optimizer on those. Without: the policy's one optimizer, as the policy built it."""
        self.value_optimizer = None
        if self.vf_learning_rate is None:
            return
        value_parameters, policy_parameters = split_value_parameters(self.policy, self.observation_space)
        if not value_parameters:
            raise ValueError(
                f"vf_learning_rate needs value-function parameters of its own, but every parameter of "
                f"{type(self.policy).__name__}'s value function is shared with the actor"
            )
        self.vf_lr_schedule = FloatSchedule(self.vf_learning_rate)
        self.policy.optimizer = self.policy.optimizer_class(
            policy_parameters, lr=self.lr_schedule(1), **self.policy.optimizer_kwargs
        )  # type: ignore[call-arg]
        vf_optimizer_class = self.vf_optimizer_class or self.policy.optimizer_class
        vf_optimizer_kwargs = self.policy.optimizer_kwargs if self.vf_optimizer_kwargs is None else self.vf_optimizer_kwargs
        self.value_optimizer = vf_optimizer_class(value_parameters, lr=self.vf_lr_schedule(1), **vf_optimizer_kwargs)  # type: ignore[call-arg]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        if self.value_optimizer is not None:
            state_dicts.append("value_optimizer")
        return state_dicts, variables

    def set_parameters(
        self,
        load_path_or_dict: str | pathlib.Path | io.BufferedIOBase | TensorDict,
        exact_match: bool = True,
        device: th.device | str = "auto",
    ) -> None:
        if isinstance(load_path_or_dict, dict):
            params = load_path_or_dict
        else:
            params = load_from_zip_file(load_path_or_dict, device=device, load_data=False)[1]
        if self.value_optimizer is not None and "value_optimizer" not in params and "policy.optimizer" in params:
            # Saved with one optimizer (VPG before sb3-vpg 0.3.0 defaulted to it): keep training the way it was
            warnings.warn(
                f"this {type(self).__name__} model was saved with one optimizer for the actor and the value function; "
                "it goes on with one (vf_learning_rate=None)",
                stacklevel=2,
            )
            self.vf_learning_rate = None
            self.policy.optimizer = self.policy.optimizer_class(
                self.policy.parameters(), lr=self.lr_schedule(1), **self.policy.optimizer_kwargs
            )  # type: ignore[call-arg]
            self.value_optimizer = None
        super().set_parameters(params, exact_match=exact_match, device=device)

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, BaseCallback]:
        if reset_num_timesteps or self._last_obs is None:
            # The envs are about to be reset: the episodes carried over can never be completed.
            self.rollout_buffer.clear_carry()
        return super()._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)

    def _rollout_complete(self, n_steps: int, n_ended_episodes: int, n_rollout_steps: int) -> bool:
        if self.n_episodes is not None:
            return n_ended_episodes >= self.n_episodes
        return n_steps >= n_rollout_steps

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """
        Collect experience with the current policy until ``n_rollout_steps`` steps per env have been taken
        (or ``n_episodes`` episodes have ended), then compute the returns. As SB3's version, except that the
        value head is only evaluated with a baseline, time-limit bootstraps are passed to the buffer
        separately instead of being added to the rewards, and without a baseline a policy that offers a
        ``rollout_actor()`` acts through it (see :mod:`sb3_vpg.common.capabilities`; a snapshot of the weights
        taken after ``on_rollout_start``).

        :param env: The training environment
        :param callback: Callback called at each step (and at the beginning and end of the rollout)
        :param rollout_buffer: Buffer to fill with rollouts (an ``EpisodicRolloutBuffer``)
        :param n_rollout_steps: Number of steps to collect per env (ignored when batching by ``n_episodes``)
        :return: True if the rollout completed, False if a callback stopped it
        """
        assert self._last_obs is not None, "No previous observation was provided"
        assert isinstance(rollout_buffer, EpisodicRolloutBuffer), "REINFORCE needs an EpisodicRolloutBuffer"
        self.policy.set_training_mode(False)

        n_steps = 0
        n_ended_episodes = 0
        rollout_buffer.reset()
        if self.use_sde:
            self.policy.reset_noise(env.num_envs)

        callback.on_rollout_start()

        # Without a baseline, a policy may act through its fast rollout actor (the same policy and random draws,
        # a fraction of torch's per-step overhead); the update recomputes the log-probabilities.
        actor = None if self.use_baseline else rollout_actor(self.policy)

        while not self._rollout_complete(n_steps, n_ended_episodes, n_rollout_steps):
            if self.use_sde and self.sde_sample_freq > 0 and n_steps % self.sde_sample_freq == 0:
                self.policy.reset_noise(env.num_envs)

            observations: Observation = self._last_obs  # type: ignore[assignment]
            values: th.Tensor | None = None
            log_probs: th.Tensor | np.ndarray
            if actor is not None:
                rows = sparse_rows(self._last_obs)  # type: ignore[arg-type]
                actions, log_probs = actor.sample(rows)
                if rollout_buffer.sparse_observations:
                    observations = rows  # stored as they are, not scanned for non-zero pixels a second time
            else:
                actions, values, log_probs = self._act(self._last_obs)  # type: ignore[arg-type]

            clipped_actions = actions
            if isinstance(self.action_space, spaces.Box):
                if self.policy.squash_output:
                    clipped_actions = self.policy.unscale_action(clipped_actions)
                else:
                    clipped_actions = np.clip(actions, self.action_space.low, self.action_space.high)

            new_obs, rewards, dones, infos = env.step(clipped_actions)

            self.num_timesteps += env.num_envs

            # Give access to local variables
            callback.update_locals(locals())
            continue_training = callback.on_step()

            self._update_info_buffer(infos, dones)
            n_steps += 1
            n_ended_episodes += int(np.sum(dones))

            terminal_values = np.zeros(env.num_envs, dtype=np.float32)
            if self.use_baseline:
                # Time-limit truncation: the return goes on past the cut, estimated by V(terminal_observation)
                for idx, done in enumerate(dones):
                    if (
                        done
                        and infos[idx].get("terminal_observation") is not None
                        and infos[idx].get("TimeLimit.truncated", False)
                    ):
                        terminal_obs = self.policy.obs_to_tensor(infos[idx]["terminal_observation"])[0]
                        with th.no_grad():
                            terminal_values[idx] = self.policy.predict_values(terminal_obs)[0].item()

            rollout_buffer.add(
                observations,
                actions,
                rewards,
                self._last_episode_starts,  # type: ignore[arg-type]
                values,
                log_probs,
                terminal_values=terminal_values,
            )
            self._last_obs = new_obs  # type: ignore[assignment]
            self._last_episode_starts = dones
            if not continue_training:
                # Unlike SB3 (which drops the partial rollout), keep every step taken so far, this one included,
                # so that a later learn(reset_num_timesteps=False) trains on them with exact returns.
                rollout_buffer.carry_everything()
                return False

        last_values = None
        if self.use_baseline:
            with th.no_grad():
                last_values = self.policy.predict_values(obs_as_tensor(new_obs, self.device))  # type: ignore[arg-type]

        rollout_buffer.compute_returns_and_advantage(last_values=last_values, dones=dones)

        callback.update_locals(locals())
        callback.on_rollout_end()

        return True

    def _act(self, observations: np.ndarray | dict[str, np.ndarray]) -> tuple[np.ndarray, th.Tensor | None, th.Tensor]:
        """Sample actions with the torch policy: the actions, their values (None without a baseline), log-probs."""
        with th.no_grad():
            obs_tensor = obs_as_tensor(observations, self.device)
            if self.use_baseline:
                actions, values, log_probs = self.policy(obs_tensor)
            else:
                distribution = self.policy.get_distribution(obs_tensor)
                actions = distribution.get_actions()
                values, log_probs = None, distribution.log_prob(actions)
                # The distribution's actions are flat (n_envs, action_dim): the env gets its own shape, as in
                # ActorCriticPolicy.forward
                actions = actions.reshape((-1, *self.action_space.shape))  # type: ignore[misc]
        return actions.cpu().numpy(), values, log_probs

    def _optimizer_step(self, optimizer: th.optim.Optimizer) -> None:
        if self.max_grad_norm is not None:
            th.nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], self.max_grad_norm)
        optimizer.step()

    def _actions_for_log_prob(self, actions: th.Tensor) -> th.Tensor:
        if isinstance(self.action_space, spaces.Discrete):
            return actions.long().flatten()
        return actions

    def _chunk_weight(self, chunk_size: int) -> float:
        """Weight of a chunk's mean loss so that the accumulated gradient is the mean (or sum) over all steps."""
        return float(chunk_size) if self.loss_reduction == "sum" else chunk_size / self.rollout_buffer.n_ready_steps

    def train(self) -> None:
        """
        One policy-gradient step over every step whose return is ready (gradient accumulated over
        ``batch_size`` chunks), then, with a baseline, ``n_value_steps - 1`` value-only steps (one optimizer,
        whose first step also fitted the value function) or ``n_value_steps`` steps of the value optimizer.
        """
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        if self.value_optimizer is not None:
            vf_learning_rate = self.vf_lr_schedule(self._current_progress_remaining)
            update_learning_rate(self.value_optimizer, vf_learning_rate)
            self.logger.record("train/vf_learning_rate", vf_learning_rate)
        buffer = self.rollout_buffer

        self.logger.record("train/n_samples", buffer.n_ready_steps)
        self.logger.record("train/n_episodes", buffer.n_ready_episodes)
        self.logger.record("train/n_carried_steps", buffer.n_carried_steps)
        if buffer.n_ready_steps == 0:
            # No episode ended yet: nothing has an exact return, so no update (SB3 keeps counting steps).
            return

        policy_loss_sum = entropy_loss_sum = value_loss_sum = 0.0
        # With one optimizer and a baseline, the policy step fits the value function too
        joint_value_step = self.use_baseline and self.value_optimizer is None
        self.policy.optimizer.zero_grad()
        for batch in buffer.get(self.batch_size):
            weight = self._chunk_weight(len(batch.advantages))
            actions = self._actions_for_log_prob(batch.actions)
            if joint_value_step:
                values, log_prob, entropy = self.policy.evaluate_actions(batch.observations, actions)
            else:
                distribution = self.policy.get_distribution(batch.observations)
                log_prob, entropy = distribution.log_prob(actions), distribution.entropy()

            policy_loss = -(batch.advantages * log_prob).mean()
            # Approximate the entropy by -log_prob where it has no analytical form, as A2C does
            entropy_loss = -th.mean(-log_prob) if entropy is None else -th.mean(entropy)
            loss = policy_loss + self.ent_coef * entropy_loss
            if joint_value_step:
                value_loss = F.mse_loss(batch.returns, values.flatten())
                loss = loss + self.vf_coef * value_loss
                value_loss_sum += value_loss.item() * weight
            (loss * weight).backward()
            policy_loss_sum += policy_loss.item() * weight
            entropy_loss_sum += entropy_loss.item() * weight
        self._optimizer_step(self.policy.optimizer)

        value_optimizer = self.value_optimizer or self.policy.optimizer
        n_value_only_steps = self.n_value_steps - 1 if joint_value_step else self.n_value_steps if self.use_baseline else 0
        for step in range(n_value_only_steps):
            value_optimizer.zero_grad()
            for batch in buffer.get(self.batch_size):
                weight = self._chunk_weight(len(batch.returns))
                values = self.policy.predict_values(batch.observations)
                value_loss = F.mse_loss(batch.returns, values.flatten())
                (self.vf_coef * value_loss * weight).backward()
                if step == 0 and not joint_value_step:  # logged before any value step, as with one optimizer
                    value_loss_sum += value_loss.item() * weight
            self._optimizer_step(value_optimizer)

        self._n_updates += 1
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/policy_loss", policy_loss_sum)
        self.logger.record("train/entropy_loss", entropy_loss_sum)
        if self.use_baseline:
            self.logger.record("train/value_loss", value_loss_sum)
            self.logger.record("train/explained_variance", explained_variance(buffer.values, buffer.returns))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())

    def learn(
        self: SelfREINFORCE,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "REINFORCE",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfREINFORCE:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )
