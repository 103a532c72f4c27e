from typing import Any, TypeVar

from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_vpg.reinforce.policies import MlpPolicy
from sb3_vpg.reinforce.reinforce import REINFORCE

SelfVPG = TypeVar("SelfVPG", bound="VPG")


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

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function of the current progress remaining
    :param n_steps: Number of steps to run for each environment per update (Spinning Up's ``steps_per_epoch``)
    :param gae_lambda: GAE lambda (Spinning Up's ``lam``)
    :param use_baseline: Learn a value baseline (VPG always has one by default)
    :param n_value_steps: Gradient steps on the value loss per update (Spinning Up's ``train_v_iters``)
    :param vf_learning_rate: The value optimizer's learning rate (Spinning Up's ``vf_lr``), or a schedule; None
        for one optimizer (see REINFORCE)
    :param kwargs: Every other parameter of :class:`~sb3_vpg.REINFORCE`, with REINFORCE's defaults
    """

    def __init__(
        self,
        policy: str | type[MlpPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 3e-4,
        n_steps: int | None = 4000,
        gae_lambda: float = 0.97,
        use_baseline: bool = True,
        n_value_steps: int = 80,
        vf_learning_rate: float | Schedule | None = 1e-3,
        **kwargs: Any,
    ):
        if not use_baseline:
            # VPG's defaults below need the baseline: name them, rather than REINFORCE's errors about values the
            # user never set
            spinning_up_defaults = (
                ("gae_lambda", gae_lambda, 0.97),
                ("n_value_steps", n_value_steps, 80),
                ("vf_learning_rate", vf_learning_rate, 1e-3),
            )
            at_default = [f"{name}={value}" for name, value, default in spinning_up_defaults if value == default]
            if at_default:
                verb = "needs" if len(at_default) == 1 else "need"
                listed = ", ".join(at_default[:-1]) + " and " * (len(at_default) > 1) + at_default[-1]
                raise ValueError(
                    f"VPG(use_baseline=False): VPG's default {listed} {verb} the learned baseline; pass "
                    "gae_lambda=1.0, n_value_steps=1 and vf_learning_rate=None as well (that is REINFORCE), "
                    "or keep use_baseline=True"
                )
        if kwargs.get("n_episodes") is not None and n_steps == 4000:
            n_steps = None  # batching by episodes replaces the default n_steps
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
        log_interval: int = 1,
        tb_log_name: str = "VPG",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfVPG:
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)
