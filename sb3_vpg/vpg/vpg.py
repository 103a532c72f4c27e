from typing import Any, Final, TypeVar

from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_vpg.reinforce.policies import MlpPolicy
from sb3_vpg.reinforce.reinforce import REINFORCE

SelfVPG = TypeVar("SelfVPG", bound="VPG")


class _NotGiven:
    """The default of an argument whose value depends on the others (``vf_learning_rate=None`` means something)."""

    def __repr__(self) -> str:
        return "<Spinning Up's default>"


NOT_GIVEN: Final = _NotGiven()

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
    bootstrapped with ``V(s_T)``. The same algorithm and code as REINFORCE; only the defaults differ.

    Paper: Sutton et al. (2000), "Policy Gradient Methods for Reinforcement Learning with Function
    Approximation"; Schulman et al. (2016), "High-Dimensional Continuous Control Using GAE",
    https://arxiv.org/abs/1506.02438
    Code: https://spinningup.openai.com/en/latest/algorithms/vpg.html

    Both optimizers are the policy's ``optimizer_class`` (SB3's Adam, ``eps=1e-5``) unless ``vf_optimizer_class``
    says otherwise. ``vf_learning_rate=None`` gives one optimizer for both, as in SB3's A2C/PPO (VPG's default
    before sb3-vpg 0.3.0; a model saved then keeps training that way).

    The defaults that need the baseline give way where it is switched off: ``VPG(use_baseline=False)`` uses
    REINFORCE's ``gae_lambda=1``, ``n_value_steps=1`` and ``vf_learning_rate=None`` unless they are passed (a
    value passed explicitly is kept, and REINFORCE says if it needs the baseline). Likewise ``n_episodes``
    replaces the default ``n_steps``.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function of the current progress remaining
    :param n_steps: Number of steps to run for each environment per update (Spinning Up's ``steps_per_epoch``;
        default 4000, or none when batching by ``n_episodes``)
    :param gae_lambda: GAE lambda (Spinning Up's ``lam``; default 0.97 with the baseline)
    :param use_baseline: Learn a value baseline (VPG always has one by default)
    :param n_value_steps: Gradient steps on the value loss per update (Spinning Up's ``train_v_iters``; default
        80 with the baseline)
    :param vf_learning_rate: The value optimizer's learning rate (Spinning Up's ``vf_lr``; default 1e-3 with the
        baseline), or a schedule; None for one optimizer (see REINFORCE)
    :param kwargs: Every other parameter of :class:`~sb3_vpg.REINFORCE`, with REINFORCE's defaults
    """

    def __init__(
        self,
        policy: str | type[MlpPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = SPINNING_UP_DEFAULTS["learning_rate"],
        n_steps: int | None = None,
        gae_lambda: float | _NotGiven = NOT_GIVEN,
        use_baseline: bool = True,
        n_value_steps: int | _NotGiven = NOT_GIVEN,
        vf_learning_rate: float | Schedule | _NotGiven | None = NOT_GIVEN,
        **kwargs: Any,
    ):
        if n_steps is None and kwargs.get("n_episodes") is None:
            n_steps = SPINNING_UP_DEFAULTS["n_steps"]
        # the defaults that need the baseline give way where it is off; values passed are kept as they are
        baseline = use_baseline is True
        if isinstance(gae_lambda, _NotGiven):
            gae_lambda = SPINNING_UP_DEFAULTS["gae_lambda"] if baseline else 1.0
        if isinstance(n_value_steps, _NotGiven):
            n_value_steps = SPINNING_UP_DEFAULTS["n_value_steps"] if baseline else 1
        if isinstance(vf_learning_rate, _NotGiven):
            vf_learning_rate = SPINNING_UP_DEFAULTS["vf_learning_rate"] if baseline else None
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            gae_lambda=gae_lambda,
            use_baseline=use_baseline,
            n_value_steps=n_value_steps,
            vf_learning_rate=vf_learning_rate,
            **kwargs,
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
