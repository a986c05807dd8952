"""Shared test settings: quiet TF, CPU only, tiny architectures."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')
# Each xdist worker's TF (and the binaries its tests start) computes on its
# share of the cores: with TF's default of every core per process, the two
# workers on a 2-core machine oversubscribe it (BUILD.md, the tests' time).
if 'PYTEST_XDIST_WORKER_COUNT' in os.environ:
  _WORKERS = int(os.environ['PYTEST_XDIST_WORKER_COUNT'])
  os.environ.setdefault('TF_NUM_INTRAOP_THREADS',
                        str(max(1, (os.cpu_count() or 1) // _WORKERS)))

# TF's environment (asvit_tf/__init__.py), set before TF loads.
import asvit_tf  # pylint: disable=g-import-not-at-top,unused-import
import pytest  # pylint: disable=g-import-not-at-top

from tests.helpers import TINY_ARCH  # pylint: disable=g-import-not-at-top


@pytest.fixture
def tiny_arch():
  from asvit_tf.modeling import arch  # pylint: disable=g-import-not-at-top
  return arch.parse_arch(TINY_ARCH)
