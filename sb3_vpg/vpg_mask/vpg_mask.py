from typing import TypeVar

from stable_baselines3.common.type_aliases import MaybeCallback

from sb3_vpg.reinforce_mask.reinforce_mask import MaskableREINFORCE
from sb3_vpg.vpg.vpg import VPG

SelfMaskableVPG = TypeVar("SelfMaskableVPG", bound="MaskableVPG")


class MaskableVPG(MaskableREINFORCE, VPG):
    """
    :class:`~sb3_vpg.VPG` (Spinning Up's defaults: a value baseline with its own optimizer, GAE(0.97), 4000 steps
    per update) with invalid action masking as :class:`~sb3_vpg.MaskableREINFORCE` does it. Every parameter is
    VPG's; ``learn`` has MaskablePPO's ``use_masking``.
    """

    def learn(  # type: ignore[override]
        self: SelfMaskableVPG,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 100,
        tb_log_name: str = "MaskableVPG",
        reset_num_timesteps: bool = True,
        use_masking: bool = True,
        progress_bar: bool = False,
    ) -> SelfMaskableVPG:
        return super().learn(
            total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, use_masking, progress_bar
        )
