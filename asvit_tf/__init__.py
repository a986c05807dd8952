"""As-ViT in TensorFlow and Model Garden.

Importing the package, before TensorFlow, limits TF's C++ log to errors, and
on a host without an NVIDIA driver silences it: there its one error is the
failed CUDA probe (`failed call to cuInit ... (303)`). A TF_CPP_MIN_LOG_LEVEL
set by the user wins.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL',
                      '2' if os.path.exists('/proc/driver/nvidia') else '3')
