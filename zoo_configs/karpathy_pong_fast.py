"""
rl_zoo3 hyperparameters of the fast Pong preset (``sb3_vpg.pong.configs.fast_karpathy_kwargs``), as a module
because ``reinforce.yml``'s ``KarpathyPong-v0`` entry is the exact Karpathy configuration:

    python -m sb3_vpg.zoo train --algo reinforce --env KarpathyPong-v0 -conf sb3_vpg.zoo_configs.karpathy_pong_fast \\
        --vec-env subproc

The zoo builds its own vec env (``--vec-env subproc`` runs the 4 games in processes); ``python -m sb3_vpg.pong
train --config fast`` runs them on ale-py's C++ threads instead (``KarpathyPongVecEnv``), which is faster.
"""

from sb3_vpg.pong.configs import PRESETS, fast_karpathy_kwargs

hyperparams = {
    "KarpathyPong-v0": {"n_envs": PRESETS["fast"].n_envs, "n_timesteps": 20_000_000, **fast_karpathy_kwargs()},
}
