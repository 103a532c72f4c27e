"""Our CSVs of runs (numbers read back as numbers), and medians for the tables."""

import csv
import statistics
from pathlib import Path

from sb3_vpg.common.files import replaced_whole

# the numeric columns of runs.csv and evaluations.csv (and the tuning's recheck.csv); "" (never reached) stays ""
NUMBERS = {"seed": int, "wall_seconds": float, "steps_per_second": float, "final_score": float, "steps": int,
           "steps_to_threshold": int, "seconds_to_threshold": float, "timesteps": int, "eval_mean": float,
           "eval_std": float, "late_score": float}  # fmt: skip


def read_rows(path: Path) -> list[dict]:
    """The rows of one of our CSVs, numbers as numbers (as ``collect`` made them); none if there is no file."""
    if not path.exists():
        return []
    with open(path, newline="") as file:
        return [
            {key: NUMBERS[key](text) if key in NUMBERS and text != "" else text for key, text in row.items()}
            for row in csv.DictReader(file)
        ]


def write_csv(path: Path, rows: list[dict]) -> None:
    fields: list[str] = []
    for row in rows:
        fields += [key for key in row if key not in fields]
    with replaced_whole(path) as temporary, open(temporary, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def median_range(values: list[float]) -> str:
    """``median [min, max]`` of repeated measurements (ratios, to two decimals)."""
    return f"{statistics.median(values):.2f} [{min(values):.2f}, {max(values):.2f}]"
