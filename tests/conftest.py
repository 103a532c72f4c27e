import torch as th

# One torch thread per test process: pytest-xdist runs one worker per core, and two threads were measured
# slower than one on these machines (shared/NOTES.md).
th.set_num_threads(1)
