"""Root pytest configuration: tests and notebooks run in quick mode on the CPU."""

import os

# Kernels started by nbval inherit this environment, so notebooks shrink their budgets too.
os.environ.setdefault("GCA_LAB_QUICK", "1")
os.environ.setdefault("PYTHONHASHSEED", "0")
