import sys
from pathlib import Path

import torch as th

# The benchmarks' library (benchmarks/shared/), importable by the tests as the scripts import it
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

# One torch thread per test process: pytest-xdist runs one worker per core, and two threads were measured
# slower than one on these machines (benchmarks/speed/pong_throughput.py ran slower with two torch threads than with one).
th.set_num_threads(1)
