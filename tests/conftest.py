"""Shared test settings: quiet TF, CPU only, tiny architectures."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')

import pytest  # pylint: disable=g-import-not-at-top

from tests.helpers import TINY_ARCH  # pylint: disable=g-import-not-at-top


@pytest.fixture
def tiny_arch():
  from asvit_tf.modeling import arch  # pylint: disable=g-import-not-at-top
  return arch.parse_arch(TINY_ARCH)
