from sb3_vpg.reinforce.policies import CnnPolicy, MlpPolicy, MultiInputPolicy
from sb3_vpg.vpg.vpg import VPG

__all__ = ["VPG", "CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
