from sb3_vpg.reinforce.policies import CnnPolicy, MlpPolicy, MultiInputPolicy
from sb3_vpg.reinforce.reinforce import REINFORCE

__all__ = ["REINFORCE", "CnnPolicy", "MlpPolicy", "MultiInputPolicy"]
