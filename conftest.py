"""Root pytest configuration: tests and notebooks run in quick mode on the CPU."""

import os

# Kernels started by nbval inherit this environment, so notebooks shrink their budgets too.
os.environ.setdefault("GCA_LAB_QUICK", "1")
os.environ.setdefault("PYTHONHASHSEED", "0")
# Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine spinning threads of
# one process starve the other (measured: NT-Xent at 2B = 1024 took 1107 ms spinning, 68 ms passive;
# benchmarks/README.md). Must be set before torch is imported, which is why it lives here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Every figure a notebook cell shows passes gca_lab.viz.check_figure, or the cell fails (nbval, and
# the freshness test's executions): viz.setup_notebook reads this flag.
os.environ.setdefault("GCA_LAB_FIGURE_CHECK", "1")
