from typing import Any, TypeVar

from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule

from sb3_vpg.reinforce.policies import MlpPolicy
from sb3_vpg.reinforce.reinforce import REINFORCE

SelfVPG = TypeVar("SelfVPG", bound="VPG")


class VPG(REINFORCE):
    """
    Vanilla Policy Gradient with OpenAI Spinning Up's defaults: :class:`~sb3_vpg.REINFORCE` with a learned value
    baseline, GAE(lambda=0.97) advantages, 4000 steps per update (per env), 80 value steps per update, and
    unfinished episodes bootstrapped with ``V(s_T)``. The same algorithm and code as REINFORCE; only the defaults
    differ.

    Paper: Sutton et al. (2000), "Policy Gradient Methods for Reinforcement Learning with Function
    Approximation"; Schulman et al. (2016), "High-Dimensional Continuous Control Using GAE",
    https://arxiv.org/abs/1506.02438
    Code: https://spinningup.openai.com/en/latest/algorithms/vpg.html

    Spinning Up uses two optimisers (policy lr 3e-4, value lr 1e-3); here the policy's single optimiser takes
    ``learning_rate`` for both, as in SB3's A2C/PPO.

    :param policy: The policy model to use (MlpPolicy, CnnPolicy, MultiInputPolicy, ...)
    :param env: The environment to learn from (if registered in Gym, can be str)
    :param learning_rate: The learning rate, it can be a function of the current progress remaining
    :param n_steps: Number of steps to run for each environment per update (Spinning Up's ``steps_per_epoch``)
    :param gae_lambda: GAE lambda (Spinning Up's ``lam``)
    :param use_baseline: Learn a value baseline (VPG always has one by default)
    :param n_value_steps: Gradient steps on the value loss per update (Spinning Up's ``train_v_iters``)
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
        **kwargs: Any,
    ):
        if not use_baseline:
            # VPG's defaults below need the baseline: name them, rather than REINFORCE's errors about values the
            # user never set
            spinning_up_defaults = (("gae_lambda", gae_lambda, 0.97), ("n_value_steps", n_value_steps, 80))
            at_default = [f"{name}={value}" for name, value, default in spinning_up_defaults if value == default]
            if at_default:
                verb = "needs" if len(at_default) == 1 else "need"
                raise ValueError(
                    f"VPG(use_baseline=False): VPG's default {' and '.join(at_default)} {verb} the learned baseline; "
                    "pass gae_lambda=1.0 and n_value_steps=1 as well (that is REINFORCE), or keep use_baseline=True"
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
