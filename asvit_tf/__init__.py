"""As-ViT in TensorFlow and Model Garden.

Importing the package, before TensorFlow, sets TF's environment:
- TF_CPP_MIN_LOG_LEVEL limits TF's C++ log to errors, and on a host without
  an NVIDIA driver silences it: there its one error is the failed CUDA probe
  (`failed call to cuInit ... (303)`).
- TF_USE_LEGACY_KERAS=1 makes `tf.keras` the tf_keras (Keras 2) that every
  layer here and in Model Garden is built on, so TF's import loads that
  instead of Keras 3 (which imports scikit-learn): each process (a binary,
  a metric worker, a pipeline stage) starts about 1 s sooner (BUILD.md).
Values the user set win.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL',
                      '2' if os.path.exists('/proc/driver/nvidia') else '3')
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
