"""As-ViT in TensorFlow and Model Garden.

Importing the package, before TensorFlow, sets TF's environment:
- TF_CPP_MIN_LOG_LEVEL limits TF's C++ log to errors, and on a host without
  an NVIDIA driver silences it: there its one error is the failed CUDA probe
  (`failed call to cuInit ... (303)`).
- TF_USE_LEGACY_KERAS=1 makes `tf.keras` the tf_keras (Keras 2) that every
  layer here and in Model Garden is built on, so TF's import loads that
  instead of Keras 3 (which imports scikit-learn): each process (a binary,
  a metric worker, a pipeline stage) starts about 1 s sooner (BUILD.md).
- On a host that computes on its CPU (no NVIDIA driver, no TPU devices),
  TF_CPU_ALLOCATOR_USE_BFC=1 gives CPU tensors TF's pooling BFC allocator
  instead of malloc, which maps every block above 32 MB afresh, so each
  (tokens, tokens) attention tensor at 224x224 paid its page faults and the
  kernel's zeroing again: measured 1.2-1.7x faster metrics and As-ViT Small
  training steps at 224 on 2 cores (BUILD.md). TF_CPU_BFC_MEM_LIMIT_IN_MB
  lets that pool grow to the host's memory (TF's default stops at 64 GB).
  TF_ENABLE_ONEDNN_OPTS=1 gives the CPU TF's oneDNN kernels, which TF turns on
  by itself only on CPUs with AVX-512 VNNI, bfloat16 or AMX: on an AVX2 CPU
  they made the metrics' steady calls 1.3-1.6x and a search step 1.2x
  faster (BUILD.md).
- On such a host GLIBC_TUNABLES also gets glibc.malloc.hugetlb=1 for the
  processes started after the import (glibc reads it when a process starts):
  the metric workers and the main job's stages. Their malloc then asks for
  transparent huge pages, so the BFC pool's regions fault in 2 MB at a time:
  a never-seen topology's first call paid up to 170 k page faults of 4 kB
  (BUILD.md).
Values the user set win.
"""

import glob
import os

_NVIDIA_DRIVER = os.path.exists('/proc/driver/nvidia')


def computes_on_cpu() -> bool:
  """No NVIDIA driver and no Cloud TPU devices (/dev/accel*, /dev/vfio/N):
  TF computes on this host's CPU."""
  return not (_NVIDIA_DRIVER or glob.glob('/dev/accel*') or
              glob.glob('/dev/vfio/[0-9]*'))


def _memory_megabytes() -> int:
  """The host's physical memory in MB."""
  return os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') >> 20


os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2' if _NVIDIA_DRIVER else '3')
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
if computes_on_cpu():
  os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')
  if 'SC_PHYS_PAGES' in getattr(os, 'sysconf_names', {}):
    os.environ.setdefault('TF_CPU_ALLOCATOR_USE_BFC', '1')
    os.environ.setdefault('TF_CPU_BFC_MEM_LIMIT_IN_MB',
                          str(_memory_megabytes()))
    _TUNABLES = os.environ.get('GLIBC_TUNABLES', '')
    if 'glibc.malloc.hugetlb' not in _TUNABLES:
      os.environ['GLIBC_TUNABLES'] = ':'.join(
          filter(None, [_TUNABLES, 'glibc.malloc.hugetlb=1']))
