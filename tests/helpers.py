"""What the tests share: the repository's paths, tiny architectures, a
contrived search metric, and checks of the error contract (one `error:` line,
exit 2, nothing written)."""

import contextlib
import io
import json
import logging
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, Dict, Iterator, List, Tuple

import numpy as np
import tensorflow as tf
import tf_keras
from official.core import config_definitions
from official.core import train_utils

from asvit_tf import job as job_lib
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf.search import reinforce
import official_configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE_CONFIG = official_configs.path('asvit_smoke_digits_cpu.yaml')

# C=8, heads 16 (2, 4, 8, 16 per stage): every head is 4 channels wide.
TINY_ARCH = '4,2,2,1|2,1,2,1|2,1,2,1|2,1,2,1|16,8'
# Overlapping kernels, two blocks in stage 3, splits 4 in stage 2.
TINY_ARCH_2 = '7,2,3,1|3,4,2,1|4,2,4,2|3,1,6,1|16,16'
# C=9: stage widths 9, 18, 36, 72 over 2, 4, 8, 16 heads of 4 channels, so
# q, k, v span 8, 16, 32, 64 channels (the authors' width // heads).
UNEVEN_ARCH = '4,2,2,1|2,1,2,1|2,1,2,1|2,1,2,1|16,9'


def config(name: str) -> str:
  """The path of the shipped experiment YAML `name`."""
  return official_configs.path(name)


def smoke_params(params_override: str = ''
                 ) -> config_definitions.ExperimentConfig:
  """The smoke YAML's experiment config, `params_override` applied."""
  return train_utils.parse_configuration(train_utils.ParseConfigOptions(
      experiment='asvit_imagenet', config_file=[SMOKE_CONFIG],
      params_override=params_override), print_return=False)


@contextlib.contextmanager
def keras_policy(name: str) -> Iterator[None]:
  """The global Keras dtype policy `name` inside the block and the one in
  force before it after, so that no test leaves its policy to the next."""
  previous = tf_keras.mixed_precision.global_policy()
  tf_keras.mixed_precision.set_global_policy(name)
  try:
    yield
  finally:
    tf_keras.mixed_precision.set_global_policy(previous)


@contextlib.contextmanager
def tf_warnings() -> Iterator[List[logging.LogRecord]]:
  """The records TF's logger emits at WARNING or above inside the block."""
  records = []
  handler = logging.Handler(logging.WARNING)
  handler.emit = records.append
  tf.get_logger().addHandler(handler)
  try:
    yield records
  finally:
    tf.get_logger().removeHandler(handler)


def rewarded_metric(arch, seed):
  """L_E grows with E1 and kappa falls with K4: the best is E1=6, K4=4."""
  noise = np.random.default_rng(seed).random()
  return (float(arch.stages[0].expansion) + 0.01 * noise,
          float(10 - arch.stages[3].kernel))


def search_without_times(result) -> str:
  """A search result as JSON without its wall times, to compare runs."""
  return json.dumps(
      dict(result, search_seconds=None,
           history=[dict(r, seconds=None) for r in result['history']]),
      sort_keys=True)


def run_search(model_dir, steps=60, seed=0, metric=rewarded_metric):
  """A search at 32x32 with a contrived metric; its result and log."""
  config_ = reinforce.SearchConfig(steps=steps, seed=seed, image_size=32)
  settings = {'steps': steps, 'seed': seed}
  stream = io.StringIO()
  result = job_lib.run(str(model_dir), reinforce.Search, config_, settings,
                       lambda: metric, stream)
  return result, stream.getvalue()


# Forked runs start from a server process that has imported these once; the
# binaries' own modules and flags are imported in each forked child.
_FORKED = multiprocessing.get_context('forkserver')
_FORKED.set_forkserver_preload(['tensorflow', 'tf_keras', 'matplotlib.pyplot',
                                'official.core.train_utils',
                                'asvit_tf.registry_imports', 'tests.helpers'])


def _forked_child(target: Callable[..., Any], args: Tuple[Any, ...],
                  stdout_path: str, stderr_path: str, temp_dir: str,
                  cwd: str) -> None:
  """Runs `target(*args)` with fds 1 and 2 in the given files and temporary
  files in `temp_dir`, then exits with the status Python would: SystemExit's
  code, or 1 after a traceback.

  The exit skips atexit handlers (the fork shares the server's), among them
  AutoGraph's removal of the modules it generates in the temporary
  directory; `temp_dir` is removed with them instead.
  """
  for fd, path in ((1, stdout_path), (2, stderr_path)):
    os.dup2(os.open(path, os.O_WRONLY), fd)
  os.environ['TMPDIR'] = tempfile.tempdir = temp_dir
  os.chdir(cwd)
  status = 0
  try:
    target(*args)
  except SystemExit as exited:
    if isinstance(exited.code, int) or exited.code is None:
      status = exited.code or 0
    else:
      print(exited.code, file=sys.stderr)
      status = 1
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
    status = 1
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status)  # pylint: disable=protected-access


def run_forked(target: Callable[..., Any], *args: Any, timeout: float = 300,
               cwd: str = ROOT) -> subprocess.CompletedProcess:
  """`target(*args)` in a new process forked from a server that has already
  imported TensorFlow and Model Garden: a real process (its own flags, exit
  status, stdout and stderr) without paying those imports again."""
  with tempfile.TemporaryDirectory() as tmp:
    paths = [os.path.join(tmp, name) for name in ('stdout', 'stderr')]
    for path in paths:
      open(path, 'w').close()
    temp_dir = os.path.join(tmp, 'tmp')
    os.mkdir(temp_dir)
    child = _FORKED.Process(target=_forked_child,
                            args=(target, args, *paths, temp_dir, cwd))
    child.start()
    child.join(timeout)
    if child.exitcode is None:
      child.kill()
      child.join()
      raise subprocess.TimeoutExpired(getattr(target, '__name__', target),
                                      timeout)
    outputs = []
    for path in paths:
      with open(path) as f:
        outputs.append(f.read())
  return subprocess.CompletedProcess(args, child.exitcode, *outputs)


def _run_module_as_main(module: str, argv: Tuple[str, ...]) -> None:
  sys.argv = [module, *argv]
  runpy.run_module(module, run_name='__main__', alter_sys=True)


def _run_code_as_main(code: str, argv: Tuple[str, ...]) -> None:
  sys.argv = ['-c', *argv]
  exec(compile(code, '<string>', 'exec'), {'__name__': '__main__'})  # pylint: disable=exec-used


def run_code(code: str, *argv: str,
             timeout: float = 300) -> subprocess.CompletedProcess:
  """`python -c code argv...` from the repository root, forked."""
  return run_forked(_run_code_as_main, code, argv, timeout=timeout)


def run_module(module: str, *argv: str,
               timeout: float = 300) -> subprocess.CompletedProcess:
  """`python -m module argv...` from the repository root, forked."""
  return run_forked(_run_module_as_main, module, argv, timeout=timeout)


def save_seeded_batches(builds: Dict[str, Callable[[], tf.data.Dataset]],
                        count: int, out_path: str) -> None:
  """The first `count` batches of each named dataset build, built after
  seeding 1 with op determinism on (process-wide: call it forked), flattened
  into the .npz `out_path` as NAME_BATCH_INDEX."""
  tf.config.experimental.enable_op_determinism()
  arrays = {}
  for name, build in builds.items():
    tf_keras.utils.set_random_seed(1)
    for batch, (_, values) in enumerate(zip(range(count), build())):
      for index, value in enumerate(tf.nest.flatten(values)):
        arrays[f'{name}_{batch}_{index}'] = value.numpy()
  np.savez(out_path, **arrays)


def assert_task_batches_are_model_gardens(path: str) -> Dict[str, np.ndarray]:
  """The 'task' batches of a `save_seeded_batches` file equal its
  'model_garden' ones to the bit; returns the former."""
  arrays = np.load(path)
  ours = {key[len('task_'):]: arrays[key] for key in arrays.files
          if key.startswith('task_')}
  assert ours
  for key, value in ours.items():
    np.testing.assert_array_equal(value, arrays[f'model_garden_{key}'],
                                  err_msg=key)
  return ours


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
  """Polls `condition` every 50 ms; whether it held within `seconds`."""
  deadline = time.monotonic() + seconds
  while not condition():
    if time.monotonic() > deadline:
      return False
    time.sleep(0.05)
  return True


def assert_one_line_error(result, start: str) -> None:
  """`result` (a finished subprocess) exited 2 with a last stderr line that
  starts with `start`, and printed no traceback."""
  assert result.returncode == 2, result.stderr[-3000:]
  assert result.stderr.rstrip().splitlines()[-1].startswith(start), (
      result.stderr[-3000:])
  assert 'Traceback' not in result.stderr


def snapshot(directory: str) -> Dict[str, Tuple[int, int]]:
  """(size, mtime in ns) of every file under `directory`, by relative path."""
  found = {}
  for root, _, names in os.walk(directory):
    for name in names:
      path = os.path.join(root, name)
      stat = os.stat(path)
      found[os.path.relpath(path, directory)] = (stat.st_size,
                                                 stat.st_mtime_ns)
  return found


def xla_compiled_calls(graph_def: tf.compat.v1.GraphDef) -> int:
  """Calls of XLA-compiled functions in `graph_def` and its functions."""
  nodes = [*graph_def.node,
           *(node for function in graph_def.library.function
             for node in function.node_def)]
  return sum(node.attr['_XlaMustCompile'].b for node in nodes)
