"""The MuJoCo suite (gymnasium's v5 envs) and its runs, each in parts (``from<steps>/``), a part per resume; the
rows of finished and running runs that ``mujoco_benchmark.py`` commits (``evaluations.csv``, ``returns/``, ``motion/``)."""

import csv
from dataclasses import dataclass
from pathlib import Path

# The MuJoCo suite of mujoco_benchmark.py (gymnasium's v5 envs), its steps per run and evaluation grid
MUJOCO_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Swimmer-v5", "Ant-v5", "Humanoid-v5")
MUJOCO_STEPS = 3_000_000
MUJOCO_EVAL_FREQ = 50_000
LATE_STEPS = 100_000  # "the end of training": a seed's last 100k steps
FLOAT_FIELDS = ("mean_return", "eval_mean", "eval_std", "mean_length", "mean_speed")


@dataclass(frozen=True)
class MujocoRun:
    """One (algorithm, env, seed) run of ``mujoco_benchmark.py``."""

    algo: str
    env_id: str
    seed: int
    config: str | None = None  # a zoo config file whose entry it trains; None: the shipped one (zoo_configs/)

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


# ---- the committed rows --------------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict]:
    """A committed CSV's rows, numbers as numbers."""
    if not path.exists():
        return []
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        for key, text in row.items():
            if key in ("seed", "timesteps", "episodes"):
                row[key] = int(text)
            elif key in FLOAT_FIELDS:
                row[key] = float(text) if text != "" else None
    return rows


def reached(rows: list[dict], steps: int) -> bool:
    return bool(rows) and max(row["timesteps"] for row in rows) >= steps


def late_mean(rows: list[dict], column: str, up_to: int) -> float | None:
    """The episode-weighted mean of ``column`` over the rows of the last ``LATE_STEPS`` steps before ``up_to``."""
    window = [row for row in rows if up_to - LATE_STEPS < row["timesteps"] <= up_to and row["episodes"] > 0]
    window = [row for row in window if row.get(column) is not None]
    if not window or not reached(rows, up_to):
        return None
    return sum(row[column] * row["episodes"] for row in window) / sum(row["episodes"] for row in window)


@dataclass(frozen=True)
class Runs:
    """The committed rows of one algorithm on one env, by seed."""

    returns: dict[int, list[dict]]
    evaluations: dict[int, list[dict]]
    motion: dict[int, list[dict]]

    @property
    def seeds(self) -> list[int]:
        return sorted({*self.returns, *self.evaluations})

    def finished(self, steps: int) -> list[int]:
        """The seeds whose training reached ``steps``."""
        return [seed for seed in self.seeds if reached(self.returns.get(seed, []), steps)]


def by_seed(rows: list[dict], algo: str, env_id: str) -> dict[int, list[dict]]:
    seeds: dict[int, list[dict]] = {}
    for row in rows:
        if row["algo"] == algo and row["env"] == env_id:
            seeds.setdefault(row["seed"], []).append(row)
    return seeds


def read_runs(out: Path, algos: tuple[str, ...]) -> dict[tuple[str, str], Runs]:
    """Every (algorithm, env)'s committed rows in ``out`` (``mujoco_benchmark.py --out``), for ``algos``."""
    evaluations = read_csv(out / "evaluations.csv")
    runs = {}
    for env_id in MUJOCO_ENVS:
        returns, motion = read_csv(out / "returns" / f"{env_id}.csv"), read_csv(out / "motion" / f"{env_id}.csv")
        for algo in algos:
            runs[algo, env_id] = Runs(
                by_seed(returns, algo, env_id), by_seed(evaluations, algo, env_id), by_seed(motion, algo, env_id)
            )
    return runs
