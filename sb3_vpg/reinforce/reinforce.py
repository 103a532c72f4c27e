from typing import Any, ClassVar, TypeVar

import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import FloatSchedule, explained_variance, update_learning_rate
from torch.nn import functional as F

from sb3_vpg.common import guards
from sb3_vpg.common.guards import NonFiniteError as NonFiniteError  # where 0.5.0 defined it
from sb3_vpg.common.on_policy_algorithm import DroppedStepsWarning as DroppedStepsWarning  # where 0.5.0 defined it
from sb3_vpg.common.on_policy_algorithm import EpisodicOnPolicyAlgorithm
from sb3_vpg.common.saved_models import upgrade_saved_settings
from sb3_vpg.common.validation import ArgumentValueError, check_bool, check_mapping, check_reinforce_arguments, needs
from sb3_vpg.common.value_optimizer import make_value_optimizer, value_steps, with_fused_kernel
from sb3_vpg.reinforce.policies import CnnPolicy, MlpPolicy, MultiInputPolicy

SelfREINFORCE = TypeVar("SelfREINFORCE", bound="REINFORCE")

DEFAULT_N_STEPS = 2048


def truncated_importance_weights(log_prob: th.Tensor, old_log_prob: th.Tensor, max_weight: float) -> th.Tensor:
    """``min(max_weight, pi / pi_old)`` per step, from the log-probabilities of its action under the policy being
    trained and the policy that acted (V-trace's truncated ``rho``, Espeholt et al. 2018)."""
    ratios = th.exp(log_prob - old_log_prob)
    # torch refuses a cap past the dtype's range (1e300 in float32), which caps nothing anyway
    return ratios.clamp(max=min(max_weight, th.finfo(ratios.dtype).max))


class REINFORCE(EpisodicOnPolicyAlgorithm):
    """
    REINFORCE: Monte-Carlo policy gradient with per-episode reward-to-go, optionally with a learned baseline.

    Paper: Williams (1992), "Simple statistical gradient-following algorithms for connectionist
    reinforcement learning", https://doi.org/10.1007/BF00992696
    Code: the update of Karpathy's "Pong from Pixels" (2016, http://karpathy.github.io/2016/05/31/rl/) and of
    OpenAI Spinning Up's VPG (https://spinningup.openai.com/en/latest/algorithms/vpg.html), on SB3's
    ``OnPolicyAlgorithm``.

    Each step enters the gradient ``-mean_t(A_t * log pi(a_t|s_t))`` with ``A_t`` its discounted reward-to-go
    ``G_t = sum_k gamma^k r_{t+k}`` up to the end of its own episode (minus ``V(s_t)`` with a baseline, GAE with
    ``gae_lambda < 1``). Returns are exact or absent: a step whose episode has not ended when the rollout stops
    is carried into the next rollout and enters a later update once its episode ends (or, with
    ``bootstrap_incomplete=True``, is bootstrapped with ``V(s_T)``). An episode cut by a time limit
    (``TimeLimit.truncated``) is bootstrapped with ``V(terminal_observation)`` when there is a baseline and
    treated as ended when there is none. One update is one optimiser step over all the ready steps. A reward,
    return, loss or gradient that is not finite stops training with a ``NonFiniteError`` before the weights change
    (an update with value steps after the policy step is undone whole).

    Interruptions lose nothing: ``learn`` stops at ``total_timesteps`` (also inside a rollout, unlike A2C/PPO, which
    finish it). With ``n_steps`` batching the budget ends the rollout: the episodes that ended are trained before
    ``learn`` returns (a ``learn`` shorter than a rollout trains, as with A2C/PPO) and the others are carried; a
    batch of ``n_episodes``, or a rollout a callback stopped, goes on where it stopped at the next
    ``learn(reset_num_timesteps=False)``. Rollouts act through the policy's rollout actor where it has one (SB3's
    ``MlpPolicy`` gets a numpy one, see :mod:`sb3_vpg.common.capabilities`); the values ``V(s_t)`` of a rollout
    are computed in one batched pass at its end.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function of the current progress remaining (from 1 to 0)
    :param n_steps: Number of steps to run for each environment per update, as in A2C/PPO
        (default 2048 when ``n_episodes`` is not given either)
    :param n_episodes: Update after this many episodes have ended ("update every N episodes", as Karpathy's Pong
        from Pixels) instead of after ``n_steps``; all episodes that ended by then enter the update (with several
        envs, a few more than ``n_episodes`` may end on the same step), episodes counted across ``learn`` calls.
        Exclusive with ``n_steps`` (``n_steps`` is None then).
    :param gamma: Discount factor, in [0, 1]
    :param gae_lambda: GAE lambda in [0, 1]; values below 1 need ``use_baseline=True``
    :param normalize_advantage: How to standardise the returns (advantages with a baseline) of an update:
        ``"none"``, ``"batch"`` over all its steps, or ``"episode"`` within each episode (Karpathy's Pong from
        Pixels). ``True``/``False`` mean ``"batch"``/``"none"``.
    :param use_baseline: Learn a value function ``V(s)`` and subtract it from the returns. Without it the
        policy's value head is neither evaluated nor trained.
    :param vf_coef: Weight of the value loss (with a baseline), >= 0
    :param n_value_steps: Gradient steps on the value loss per update (with a baseline; Spinning Up's
        ``train_v_iters``). With one optimizer the first one is taken together with the policy step, the others
        on the value loss alone; with a value optimizer (``vf_learning_rate``) all of them are its own steps,
        after the policy step.
    :param vf_learning_rate: A separate optimizer for the value function, with this learning rate (a float or
        a schedule of the progress remaining, as ``learning_rate``); needs ``use_baseline``. None (default): the
        policy's one optimizer trains the actor and the value function together with ``learning_rate``, as in
        A2C/PPO. With a value optimizer, it trains the parameters only the value function uses (its head and
        layers of its own) on ``vf_coef`` times the value loss; the policy optimizer trains all the others on the
        policy loss (and entropy) alone, so a layer shared by actor and value function learns from the policy
        loss only.
    :param vf_optimizer_class: The value optimizer's class (default: the policy's ``optimizer_class``)
    :param vf_optimizer_kwargs: Its keyword arguments besides the learning rate (default: the policy's
        ``optimizer_kwargs``)
    :param ent_coef: Entropy bonus coefficient, >= 0
    :param max_grad_norm: Clip the gradient to this global norm; None for no clipping
    :param max_importance_weight: Weight each step's policy-gradient term by ``min(c, pi(a|s) / pi_old(a|s))``,
        ``pi_old`` the policy that acted (V-trace's truncated ``rho``, Espeholt et al. 2018). A step carried
        into a later update was drawn by an older policy; without the weight (None, default) its term is
        biased toward that policy. A fresh step's weight is 1.
    :param reset_on_reward: Pong point-boundary mode: the discounted sum restarts after every non-zero reward
        (as ``discount_rewards`` in Karpathy's Pong from Pixels), so each point is its own return horizon
    :param bootstrap_incomplete: Cut the episodes still running when a rollout ends and bootstrap them with
        ``V(s_T)`` (needs ``use_baseline``) instead of carrying them into the next rollout. Default: True with a
        baseline and ``n_steps`` batching, False otherwise.
    :param loss_reduction: ``"mean"`` (default, as A2C) or ``"sum"`` over the steps of an update. Karpathy sums
        the gradient over his 10-episode batch; with RMSProp's ``eps`` the two are not equivalent.
    :param batch_size: Steps per forward/backward pass when computing the gradient (it is accumulated over
        all of them before the single optimiser step, so this only bounds memory); None for all at once
    :param use_sde: Whether to use generalized State Dependent Exploration (gSDE)
    :param sde_sample_freq: Sample a new noise matrix every n steps when using gSDE (-1: once per rollout)
    :param rollout_buffer_class: Rollout buffer class, a subclass of ``EpisodicRolloutBuffer`` (default: it, or
        ``DictEpisodicRolloutBuffer`` for a Dict observation space)
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
        # SB3 keeps ``rollout_buffer_kwargs or {}`` and refuses gSDE with a message that does not name use_sde
        check_mapping("rollout_buffer_kwargs", rollout_buffer_kwargs, allow_none=True)
        check_bool("use_sde", use_sde)
        action_space = getattr(env, "action_space", None)
        needs(
            not (use_sde and action_space is not None and not isinstance(action_space, spaces.Box)),
            f"use_sde=True needs a Box action space (gSDE explores continuous actions), got {action_space}",
        )
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=DEFAULT_N_STEPS if n_steps is None and n_episodes is None else n_steps,  # type: ignore[arg-type]
            gamma=gamma,
            gae_lambda=gae_lambda,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,  # type: ignore[arg-type]
            use_sde=use_sde,
            sde_sample_freq=sde_sample_freq,
            rollout_buffer_class=rollout_buffer_class,
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
        self.max_importance_weight = max_importance_weight
        self.n_episodes = n_episodes
        self.normalize_advantage = normalize_advantage
        self.use_baseline = use_baseline
        self.n_value_steps = n_value_steps
        self.vf_learning_rate = vf_learning_rate
        self.vf_optimizer_class = vf_optimizer_class
        self.vf_optimizer_kwargs = vf_optimizer_kwargs
        self.value_optimizer: th.optim.Optimizer | None = None
        self.n_steps_not_in_file = 0
        self.reset_on_reward = reset_on_reward
        if bootstrap_incomplete is None:
            bootstrap_incomplete = use_baseline is True and n_episodes is None
        self.bootstrap_incomplete = bootstrap_incomplete
        self.loss_reduction = loss_reduction
        self.batch_size = batch_size
        self._check_parameters()  # before anything is built, so that mistakes surface here and not inside learn()

        if _init_setup_model:
            self._setup_model()

    def _check_parameters(self, training: bool = True) -> None:
        """
        Check every argument (:func:`~sb3_vpg.common.validation.check_reinforce_arguments`): the one place that every
        path of a value into the model passes through: the constructor, ``load(custom_objects=..., **kwargs)``
        (both via ``_setup_model``) and attribute assignment (via ``_setup_learn``, before training uses it).
        """
        check_reinforce_arguments(self, training)

    def _setup_model(self) -> None:
        upgrade_saved_settings(self)
        self._check_parameters(training=False)  # the constructor and _setup_learn check for training
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self._setup_rollout_buffer()
        self.policy = self._make_policy().to(self.device)  # type: ignore[assignment]
        self._maybe_recommend_cpu()
        if self.use_baseline and getattr(self.policy, "value_net", None) is None:
            raise ArgumentValueError(
                f"use_baseline=True needs a policy with a value head; {type(self.policy).__name__} has none "
                "(for KarpathyPolicy: policy_kwargs=dict(value_head=True))"
            )
        self._setup_optimizers()

    def _make_policy(self) -> BasePolicy:
        """The policy, as ``policy_class`` builds it from the spaces and ``policy_kwargs``."""
        return self.policy_class(
            self.observation_space, self.action_space, self.lr_schedule, use_sde=self.use_sde, **self.policy_kwargs
        )

    def _setup_optimizers(self) -> None:
        """With ``vf_learning_rate``: the policy optimizer on every parameter but the value function's own, and
        the value optimizer on those. Without: the policy's one optimizer, as the policy built it. Either way with
        torch's fused kernel where it computes the same update (:func:`with_fused_kernel`)."""
        self.value_optimizer = None
        policy = self.policy
        fused_kwargs = with_fused_kernel(policy.optimizer_class, policy.optimizer_kwargs, policy.device)
        if self.vf_learning_rate is None and fused_kwargs is not policy.optimizer_kwargs:
            policy.optimizer = policy.optimizer_class(policy.parameters(), lr=self.lr_schedule(1), **fused_kwargs)  # type: ignore[call-arg]
        if self.vf_learning_rate is not None:
            self.vf_lr_schedule = FloatSchedule(self.vf_learning_rate)
            self.value_optimizer = make_value_optimizer(
                self.policy, self.observation_space, self.lr_schedule(1), self.vf_lr_schedule(1),
                self.vf_optimizer_class, self.vf_optimizer_kwargs,
            )  # fmt: skip

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        if self.value_optimizer is not None:
            state_dicts.append("value_optimizer")
        return state_dicts, variables

    def _actions_for_log_prob(self, actions: th.Tensor) -> th.Tensor:
        if isinstance(self.action_space, spaces.Discrete):
            return actions.long().flatten()
        return actions

    def _chunk_weight(self, chunk_size: int) -> float:
        """Weight of a chunk's mean loss so that the accumulated gradient is the mean (or sum) over all steps."""
        return float(chunk_size) if self.loss_reduction == "sum" else chunk_size / self.rollout_buffer.n_ready_steps

    def _optimizers(self) -> list[th.optim.Optimizer]:
        return [self.policy.optimizer] + ([self.value_optimizer] if self.value_optimizer is not None else [])

    def train(self) -> None:
        """
        One policy-gradient step over every step whose return is ready (the gradient accumulated over
        ``batch_size`` chunks), then, with a baseline, ``n_value_steps - 1`` value-only steps (one optimizer, whose
        first step also fitted the value function) or ``n_value_steps`` steps of the value optimizer. An update that
        fails (a non-finite loss or gradient) or is interrupted is undone whole and its steps held for the next.
        """
        self.policy.set_training_mode(True)
        self._update_learning_rates()
        buffer = self.rollout_buffer
        self.logger.record("train/n_samples", buffer.n_ready_steps)
        self.logger.record("train/n_episodes", buffer.n_ready_episodes)
        self.logger.record("train/n_carried_steps", buffer.n_carried_steps)
        if buffer.n_ready_steps == 0:
            return  # no episode has ended: nothing has an exact return, so no update (SB3 keeps counting steps)

        update = self._n_updates + 1
        # With one optimizer and a baseline, the policy step fits the value function too
        joint_value_step = self.use_baseline and self.value_optimizer is None
        policy_loss_sum = entropy_loss_sum = value_loss_sum = 0.0
        with guards.undone_if_it_fails(self.policy, self._optimizers(), buffer):
            self.policy.optimizer.zero_grad()
            for batch in buffer.get(self.batch_size):
                weight = self._chunk_weight(len(batch.advantages))
                actions = self._actions_for_log_prob(batch.actions)
                action_masks = getattr(batch, "action_masks", None)  # in the batches of a buffer that keeps masks
                if joint_value_step:
                    values, log_prob, entropy = self._evaluate_actions(batch.observations, actions, action_masks)
                else:
                    distribution = self._get_distribution(batch.observations, action_masks)
                    log_prob, entropy = distribution.log_prob(actions), distribution.entropy()

                advantages = self._weighted_advantages(batch.advantages, log_prob, batch.old_log_prob)
                policy_loss = -(advantages * log_prob).mean()
                # Approximate the entropy by -log_prob where it has no analytical form, as A2C does
                entropy_loss = -th.mean(-log_prob) if entropy is None else -th.mean(entropy)
                loss = policy_loss + self.ent_coef * entropy_loss
                if joint_value_step:
                    value_loss = F.mse_loss(batch.returns, values.flatten())
                    loss = loss + self.vf_coef * value_loss
                    value_loss_sum += value_loss.item() * weight
                guards.backward(loss, weight, "loss", update)
                policy_loss_sum += policy_loss.item() * weight
                entropy_loss_sum += entropy_loss.item() * weight
            guards.step(self.policy.optimizer, self.policy, self.max_grad_norm, "policy", update)

            if self.use_baseline:
                value_optimizer = self.value_optimizer or self.policy.optimizer
                n_value_only_steps = self.n_value_steps - 1 if joint_value_step else self.n_value_steps
                first_value_loss = value_steps(
                    self.policy, value_optimizer, buffer, n_value_only_steps, update, weight_of_chunk=self._chunk_weight,
                    batch_size=self.batch_size, vf_coef=self.vf_coef, max_grad_norm=self.max_grad_norm,
                )  # fmt: skip
                value_loss_sum = value_loss_sum if joint_value_step else first_value_loss

        self._n_updates += 1
        self._record_update(policy_loss_sum, entropy_loss_sum, value_loss_sum)

    def _weighted_advantages(self, advantages: th.Tensor, log_prob: th.Tensor, old_log_prob: th.Tensor) -> th.Tensor:
        """The advantages, times the truncated importance weights with ``max_importance_weight``."""
        if self.max_importance_weight is None:
            return advantages
        return advantages * truncated_importance_weights(log_prob.detach(), old_log_prob, self.max_importance_weight)

    def _update_learning_rates(self) -> None:
        self._update_learning_rate(self.policy.optimizer)
        if self.value_optimizer is not None:
            vf_learning_rate = self.vf_lr_schedule(self._current_progress_remaining)
            update_learning_rate(self.value_optimizer, vf_learning_rate)
            self.logger.record("train/vf_learning_rate", vf_learning_rate)

    def _record_update(self, policy_loss: float, entropy_loss: float, value_loss: float) -> None:
        buffer = self.rollout_buffer
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/policy_loss", policy_loss)
        self.logger.record("train/entropy_loss", entropy_loss)
        if self.use_baseline:
            self.logger.record("train/value_loss", value_loss)
            self.logger.record("train/explained_variance", explained_variance(buffer.values, buffer.returns))
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())

    def learn(
        self: SelfREINFORCE,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 100,
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
