from sb3_vpg.reinforce_mask.policies import CnnPolicy, MlpPolicy, MultiInputPolicy
from sb3_vpg.vpg_mask.vpg_mask import MaskableVPG

__all__ = ["CnnPolicy", "MaskableVPG", "MlpPolicy", "MultiInputPolicy"]
