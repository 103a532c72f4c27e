"""The MuJoCo suite (gymnasium's v5 envs) and its runs, each in parts (``from<steps>/``), a part per resume."""

from dataclasses import dataclass
from pathlib import Path

# The MuJoCo suite of mujoco_benchmark.py (gymnasium's v5 envs), its steps per run and evaluation grid
MUJOCO_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Swimmer-v5", "Ant-v5", "Humanoid-v5")
MUJOCO_STEPS = 3_000_000
MUJOCO_EVAL_FREQ = 50_000


@dataclass(frozen=True)
class MujocoRun:
    """One (algorithm, env, seed) run of ``mujoco_benchmark.py``."""

    algo: str
    env_id: str
    seed: int

    def folder(self, out: Path) -> Path:
        return out / "logs" / self.algo / f"{self.env_id}_seed{self.seed}"


def part_start(part: Path) -> int:
    return int(part.name.removeprefix("from"))


def parts(run: MujocoRun, out: Path) -> list[Path]:
    return sorted(run.folder(out).glob("from*"), key=part_start)


def final_zoo_folder(run: MujocoRun, out: Path) -> Path:
    """The zoo folder of the last part of a finished run (its final model).

    :raises FileNotFoundError: where the run is not finished
    """
    if not (run.folder(out) / "done.json").exists():
        raise FileNotFoundError(
            f"{run.folder(out)} is not a finished run: python benchmarks/mujoco/mujoco_benchmark.py --seeds {run.seed}"
        )
    (folder,) = (parts(run, out)[-1] / "zoo" / run.algo).glob(f"{run.env_id}_*")
    return folder
