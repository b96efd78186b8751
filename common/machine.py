"""The machine a measurement ran on, named in the reports of bench.py and data/bench_prepare.py."""

import platform


def cpu_model() -> str:
    """The processor's name ('AMD EPYC 7B13'), from /proc/cpuinfo where there is one."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
