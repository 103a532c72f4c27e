"""How Pong training is scored."""


def running_reward(previous: float | None, episode_score: float, decay: float = 0.99) -> float:
    """The running reward of Karpathy's Pong from Pixels: the first episode's score, then ``decay * previous +
    (1 - decay) * score``."""
    return episode_score if previous is None else decay * previous + (1 - decay) * episode_score
