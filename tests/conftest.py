"""Shared test settings: quiet TF, CPU only, tiny architectures."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')

import pytest  # pylint: disable=g-import-not-at-top

# C=8, heads 16 (2, 4, 8, 16 per stage): every head is 4 channels wide.
TINY_ARCH = '4,2,2,1|2,1,2,1|2,1,2,1|2,1,2,1|16,8'
# Overlapping kernels, two blocks in stage 3, splits 4 in stage 2.
TINY_ARCH_2 = '7,2,3,1|3,4,2,1|4,2,4,2|3,1,6,1|16,16'
# C=9: stage widths 9, 18, 36, 72 over 2, 4, 8, 16 heads of 4 channels, so
# q, k, v span 8, 16, 32, 64 channels (the authors' width // heads).
UNEVEN_ARCH = '4,2,2,1|2,1,2,1|2,1,2,1|2,1,2,1|16,9'


@pytest.fixture
def tiny_arch():
  from asvit_tf.modeling import arch  # pylint: disable=g-import-not-at-top
  return arch.parse_arch(TINY_ARCH)
