"""Which floating-point precision a training run uses, and how the layers
compute in it on a CPU.

Model Garden's `runtime.mixed_precision_dtype` takes float32, bfloat16 or
float16 (variables stay float32, layers compute in the reduced dtype); here
it also takes `auto`: bfloat16 where TF computes on a CPU with bfloat16
instructions (AVX512_BF16 or AMX-BF16, read from /proc/cpuinfo on Linux),
float32 elsewhere, hosts with an NVIDIA driver or Cloud TPU devices included
(their configs name their precision). The training-free metrics
(asvit_tf.complexity, search, scale) always run in float32. Under mixed
precision on a CPU, element-wise steps that TF's kernels convert slowly run
XLA-compiled (`fused_on_cpu`), except in exported SavedModels.
"""

import contextlib
import functools
from typing import Callable, FrozenSet, Iterator, Optional

import tensorflow as tf
# TF's own test utilities read oneDNN's runtime switch from here.
from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-direct-tensorflow-import
from official.core import config_definitions
from official.modeling import performance

import asvit_tf
from asvit_tf import errors

AUTO = 'auto'
DTYPES = ('float32', 'bfloat16', 'float16')
FAST_BFLOAT16_CPU_FLAGS = frozenset({'avx512_bf16', 'amx_bf16'})
_xla_fusion = True  # Switched off by `without_xla_fusion`.


def at_least_float32(dtype: tf.DType) -> tf.DType:
  """float32 for bfloat16 and float16, else `dtype`: where a layer computes
  a step whose accuracy or CPU speed needs it under mixed precision."""
  return tf.float32 if dtype.size < 4 else dtype


def cpu_flags(cpuinfo_path: str = '/proc/cpuinfo') -> FrozenSet[str]:
  """The CPU's feature flags (Linux x86); none where they cannot be read."""
  try:
    with open(cpuinfo_path) as f:
      lines = f.read().splitlines()
  except OSError:  # Not Linux: no way to tell.
    return frozenset()
  return frozenset(flag for line in lines
                   if line.startswith('flags') and ':' in line
                   for flag in line.split(':', 1)[1].split())


def cpu_has_fast_bfloat16(cpuinfo_path: str = '/proc/cpuinfo') -> bool:
  """Whether the CPU has bfloat16 matmul instructions."""
  return bool(FAST_BFLOAT16_CPU_FLAGS & cpu_flags(cpuinfo_path))


@functools.lru_cache(maxsize=None)
def native_softmax_rounds_once(dtype: tf.DType) -> bool:
  """Whether TF's own softmax of `dtype` logits computes in float32 and
  rounds its result once here. For bfloat16 its oneDNN CPU kernels do; TF
  runs them where oneDNN is on (on every CPU-computing host once asvit_tf
  is imported) and the CPU has AVX-512. Its Eigen CPU kernels round step by
  step (383 of 4802 bfloat16 weights one unit in the last place off on an
  AVX2 CPU), and float16 (oneDNN only with AVX512_FP16), GPUs and TPUs are
  not relied on."""
  if (tf.config.list_logical_devices('GPU') or
      tf.config.list_logical_devices('TPU')):
    return False
  return (dtype == tf.bfloat16 and _pywrap_util_port.IsMklEnabled() and
          'avx512f' in cpu_flags())


def fused_on_cpu(function: Callable[..., tf.Tensor]
                 ) -> Callable[..., tf.Tensor]:
  """`function`, XLA-compiled where its first argument is bfloat16 or
  float16 and TF computes on this host's CPU, as it is elsewhere.

  For element-wise steps under mixed precision: TF's CPU kernels convert
  each reduced-precision operand on its own (a bfloat16 multiplication over
  the attention's scores took twice the float32 one), while XLA fuses the
  steps into one loop that converts in registers. float32 calls, the
  metrics' among them, run `function` itself, so their values do not
  change.
  """
  compiled = tf.function(function, jit_compile=True, autograph=False)

  def call(*args):
    return (compiled if fuses_on_cpu(args[0].dtype) else function)(*args)

  return call


def fuses_on_cpu(dtype: tf.DType) -> bool:
  """Whether `fused_on_cpu` functions of `dtype` tensors run XLA-compiled."""
  return _xla_fusion and dtype.size < 4 and asvit_tf.computes_on_cpu()


@contextlib.contextmanager
def without_xla_fusion() -> Iterator[None]:
  """Models traced inside hold no XLA-compiled functions: for SavedModels,
  which TF Serving runs without XLA unless told otherwise."""
  global _xla_fusion
  previous, _xla_fusion = _xla_fusion, False
  try:
    yield
  finally:
    _xla_fusion = previous


def resolve(dtype: Optional[str],
            cpuinfo_path: str = '/proc/cpuinfo') -> str:
  """`runtime.mixed_precision_dtype` decided for this machine: `auto` by the
  CPU where TF computes on it, else float32; unset as float32 (Model
  Garden's default); raises UsageError for anything else than auto or
  DTYPES."""
  if not dtype:
    return 'float32'
  if dtype == AUTO:
    fast = (asvit_tf.computes_on_cpu() and
            cpu_has_fast_bfloat16(cpuinfo_path))
    return 'bfloat16' if fast else 'float32'
  if dtype not in DTYPES:
    raise errors.UsageError(f'runtime.mixed_precision_dtype={dtype}; '
                            f'allowed: {", ".join((AUTO,) + DTYPES)}')
  return dtype


def resolve_in(params: config_definitions.ExperimentConfig) -> None:
  """Replaces `auto` (or unset) in `params.runtime` by the dtype that runs,
  so that params.yaml records it; UsageError as `resolve`."""
  params.override({'runtime': {'mixed_precision_dtype': resolve(
      params.runtime.mixed_precision_dtype)}})


def set_policy(runtime: config_definitions.RuntimeConfig) -> str:
  """Sets the Keras policy (mixed_bfloat16, mixed_float16 or float32) that
  models built next take; returns the resolved dtype."""
  dtype = resolve(runtime.mixed_precision_dtype)
  performance.set_mixed_precision_policy(dtype)
  return dtype
