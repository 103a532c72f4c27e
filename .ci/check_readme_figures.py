"""
CI: the README's main-job figures are what the main job printed. Reads the training log (EvalCallback's "Eval
num_timesteps=N, episode_reward=M +/- S" lines) and the enjoy log ("Mean reward: R"), writes the sentence the README
must contain, and fails if it does not.

    python .ci/check_readme_figures.py train.log enjoy.log README.md
"""

import re
import sys
from pathlib import Path


def figures_sentence(train_log: str, enjoy_log: str) -> str:
    """The README's sentence for these logs: every evaluation mean, then enjoy's mean reward."""
    evaluations = re.findall(r"Eval num_timesteps=(\d+), episode_reward=(-?[\d.]+)", train_log)
    if not evaluations:
        raise SystemExit("no evaluation in the training log")
    means = ", ".join(f"{float(mean):g} at {int(steps) // 1000}k" for steps, mean in evaluations)
    (mean_reward,) = re.findall(r"Mean reward: (-?[\d.]+)", enjoy_log)[-1:]
    return f"the evaluation means are {means}, and `enjoy` reports a mean reward of {float(mean_reward):g}"


def main() -> None:
    train_log, enjoy_log, readme = (Path(path).read_text() for path in sys.argv[1:4])
    sentence = figures_sentence(train_log, enjoy_log)
    if sentence not in " ".join(readme.split()):
        raise SystemExit(f"README.md does not say what the main job printed; it should say:\n  {sentence}")
    print(f"README figures match the main job: {sentence}")


if __name__ == "__main__":
    main()
