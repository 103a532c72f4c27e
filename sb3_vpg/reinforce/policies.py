# This file is here just to define the policies that work for REINFORCE and VPG.
from stable_baselines3.common.policies import ActorCriticCnnPolicy, ActorCriticPolicy, MultiInputActorCriticPolicy

from sb3_vpg.common.policies import KarpathyPolicy

MlpPolicy = ActorCriticPolicy
CnnPolicy = ActorCriticCnnPolicy
MultiInputPolicy = MultiInputActorCriticPolicy

__all__ = ["CnnPolicy", "KarpathyPolicy", "MlpPolicy", "MultiInputPolicy"]
