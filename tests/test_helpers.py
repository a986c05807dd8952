"""The forked processes that run the binaries in tests leave no files
behind (tests.helpers.run_forked)."""

import os

from tests import helpers

# Traces a Model Garden function with AutoGraph, which writes the converted
# module to a file in the temporary directory, removed by an atexit handler.
_CONVERT = '''
import glob, os, tempfile
import tensorflow as tf
from official.vision.ops import preprocess_ops

tf.function(preprocess_ops.normalize_image)(tf.ones([4, 4, 3]))
print(tempfile.gettempdir())
print(len(glob.glob(os.path.join(tempfile.gettempdir(),
                                 '__autograph_generated_file*'))))
'''


def test_forked_run_leaves_no_autograph_module():
  result = helpers.run_code(_CONVERT)
  assert result.returncode == 0, result.stderr
  temp_dir, generated = result.stdout.split()[-2:]
  assert int(generated) >= 1
  assert not os.path.exists(temp_dir)
