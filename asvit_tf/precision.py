"""Which floating-point precision a training run uses.

Model Garden's `runtime.mixed_precision_dtype` takes float32, bfloat16 or
float16 (variables stay float32, layers compute in the reduced dtype); here
it also takes `auto`: bfloat16 where the CPU has bfloat16 instructions
(AVX512_BF16 or AMX-BF16, read from /proc/cpuinfo on Linux), float32
elsewhere. The training-free metrics (asvit_tf.complexity, search, scale)
always run in float32.
"""

from typing import Optional

import tensorflow as tf
from official.core import config_definitions
from official.modeling import performance

from asvit_tf import errors

AUTO = 'auto'
DTYPES = ('float32', 'bfloat16', 'float16')
FAST_BFLOAT16_CPU_FLAGS = frozenset({'avx512_bf16', 'amx_bf16'})


def at_least_float32(dtype: tf.DType) -> tf.DType:
  """float32 for bfloat16 and float16, else `dtype`: where a layer computes
  a step whose accuracy or CPU speed needs it under mixed precision."""
  return tf.float32 if dtype.size < 4 else dtype


def cpu_has_fast_bfloat16(cpuinfo_path: str = '/proc/cpuinfo') -> bool:
  """Whether the CPU has bfloat16 matmul instructions (Linux x86 flags)."""
  try:
    with open(cpuinfo_path) as f:
      lines = f.read().splitlines()
  except OSError:  # Not Linux: no way to tell, so no.
    return False
  return any(
      FAST_BFLOAT16_CPU_FLAGS & set(line.split(':', 1)[1].split())
      for line in lines if line.startswith('flags') and ':' in line)


def resolve(dtype: Optional[str],
            cpuinfo_path: str = '/proc/cpuinfo') -> str:
  """`runtime.mixed_precision_dtype` decided for this machine: `auto` by the
  CPU, unset as float32 (Model Garden's default); raises UsageError for
  anything else than auto or DTYPES."""
  if not dtype:
    return 'float32'
  if dtype == AUTO:
    return 'bfloat16' if cpu_has_fast_bfloat16(cpuinfo_path) else 'float32'
  if dtype not in DTYPES:
    raise errors.UsageError(f'runtime.mixed_precision_dtype={dtype}; '
                            f'allowed: {", ".join((AUTO,) + DTYPES)}')
  return dtype


def set_policy(runtime: config_definitions.RuntimeConfig) -> str:
  """Sets the Keras policy (mixed_bfloat16, mixed_float16 or float32) that
  models built next take; returns the resolved dtype."""
  dtype = resolve(runtime.mixed_precision_dtype)
  performance.set_mixed_precision_policy(dtype)
  return dtype
