import torch as th

# One torch thread per test process: pytest-xdist runs one worker per core, and two threads were measured
# slower than one on these machines (benchmarks/pong_throughput.py ran slower with two torch threads than with one).
th.set_num_threads(1)
