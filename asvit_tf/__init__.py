"""As-ViT in TensorFlow and Model Garden.

Importing the package, before TensorFlow, sets TF's environment:
- TF_CPP_MIN_LOG_LEVEL limits TF's C++ log to errors, and on a host without
  an NVIDIA driver silences it: there its one error is the failed CUDA probe
  (`failed call to cuInit ... (303)`).
- TF_USE_LEGACY_KERAS=1 makes `tf.keras` the tf_keras (Keras 2) that every
  layer here and in Model Garden is built on, so TF's import loads that
  instead of Keras 3 (which imports scikit-learn): each process (a binary,
  a metric worker, a pipeline stage) starts about 1 s sooner (BUILD.md).
- TF_CPU_ALLOCATOR_USE_BFC=1 gives CPU tensors TF's pooling BFC allocator
  instead of malloc, which maps every tensor above 32 MB afresh, so each
  (tokens, tokens) attention tensor at 224x224 paid its page faults and the
  kernel's zeroing again: measured 1.5x faster As-ViT Small training steps
  and 1.2-1.5x faster metrics at 224 on 2 cores (BUILD.md).
Values the user set win.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL',
                      '2' if os.path.exists('/proc/driver/nvidia') else '3')
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
os.environ.setdefault('TF_CPU_ALLOCATOR_USE_BFC', '1')
