"""A topology's length distortion and NTK measured at once, in two processes.

Every search step (Algorithm 1) and every scaling candidate (Algorithm 2)
measures both metrics of a topology never seen before, and much of that is
single-threaded: Python tracing the two functions, TF instantiating them,
and small ops that leave a core idle. Here one worker process measures the
length distortion while another measures the NTK, each with its own
Measurer built from the same images, settings and seed, and each with its
share of the cores for TF's intra-op threads. The values are the in-process
ones (the same traced functions; the thread count changes only the last
bits, below the metrics' rounding). Measured on a 2-core CPU at the paper's
protocol (benchmarks/README.md): 1.33x the search steps and 1.20x the
scaling steps an hour.

Workers start with `spawn` (TF is not fork-safe), so a script that starts
them guards its entry point with `if __name__ == '__main__':`. They ignore
Ctrl-C (their parent ends them) and exit when their parent's end of the pipe
closes, so a killed search leaves no process behind.
"""

import multiprocessing
import os
import signal
import sys
import traceback
from typing import Any, Dict, List, Tuple

import numpy as np
import tensorflow as tf

from asvit_tf import errors
from asvit_tf.complexity import measurer as measurer_lib
from asvit_tf.complexity import settings as settings_lib
from asvit_tf.modeling import arch as arch_lib

# The metrics a search and a scaling step read, one worker each, in order.
WORKER_METRICS = ('length_distortion', 'ntk')


def default_workers() -> int:
  """2 on a CPU-only machine with 2 or more cores, else 1 (in process): on a
  GPU the metrics run on the device, and two processes would each claim it."""
  if (os.cpu_count() or 1) < 2 or tf.config.list_physical_devices('GPU'):
    return 1
  return len(WORKER_METRICS)


def _failure() -> Tuple[str, str]:
  """The reply for the exception being handled: a UsageError's one line,
  anything else (a bug) its traceback."""
  error = sys.exc_info()[1]
  if isinstance(error, errors.UsageError):
    return 'usage', str(error)
  return 'bug', traceback.format_exc()


def _serve(connection, metric: str, threads: int,
           measurer_args: Dict[str, Any]) -> None:
  """A worker: builds its Measurer, then answers (arch, seed) requests with
  ('ok', mean), ('usage', message) or ('bug', traceback) until None or EOF."""
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  tf.get_logger().setLevel('ERROR')  # Every topology traces anew.
  try:
    try:
      measurer = measurer_lib.Measurer(**measurer_args)
    except Exception:  # pylint: disable=broad-except
      connection.send(_failure())
      return
    connection.send(('ok', None))
    while (request := connection.recv()) is not None:
      arch, seed = request
      try:
        reply = ('ok', measurer.measure(arch_lib.parse_arch(arch), [metric],
                                        seed)[metric].mean)
      except Exception:  # pylint: disable=broad-except
        reply = _failure()
      connection.send(reply)
  except (EOFError, BrokenPipeError):  # The parent is gone.
    return


class TwoProcessMeasurer:
  """Means over the initializations of L_E and the NTK condition number, each
  metric in its own worker process (takes Measurer's arguments)."""

  def __init__(self, image_size: int, images: np.ndarray,
               settings: settings_lib.Settings, repeats: int, seed: int):
    context = multiprocessing.get_context('spawn')
    threads = max(1, (os.cpu_count() or 1) // len(WORKER_METRICS))
    measurer_args = dict(image_size=image_size, images=images,
                         settings=settings, repeats=repeats, seed=seed)
    self._workers = []
    for metric in WORKER_METRICS:
      parent_end, child_end = context.Pipe()
      process = context.Process(
          target=_serve, args=(child_end, metric, threads, measurer_args),
          name=f'asvit-{metric}', daemon=True)
      process.start()
      child_end.close()
      self._workers.append((metric, parent_end, process))
    try:
      self._replies()  # Each worker's Measurer is built, or the error.
    except Exception:
      self.close()
      raise

  def _replies(self) -> List[Any]:
    """One reply from every worker; raises the first error among them after
    reading all, so no reply is left behind for the next request."""
    replies = []
    for metric, connection, process in self._workers:
      try:
        replies.append((metric, process) + tuple(connection.recv()))
      except EOFError:
        process.join(5)
        replies.append((metric, process, 'bug',
                        f'exited with code {process.exitcode}'))
    for metric, process, status, value in replies:
      if status == 'usage':
        raise errors.UsageError(value)
      if status == 'bug':
        raise RuntimeError(f'the {metric} worker (pid {process.pid}) '
                           f'failed: {value}')
    return [value for _, _, _, value in replies]

  def measure(self, arch: arch_lib.ArchSpec,
              seed: int) -> Tuple[float, float]:
    """(L_E, NTK condition number) of `arch`, initializations from `seed`."""
    for _, connection, _ in self._workers:
      connection.send((arch_lib.format_arch(arch), seed))
    length, kappa = self._replies()
    return length, kappa

  def close(self) -> None:
    """Ends the workers now (they also end when this process does); they
    hold nothing to save, so they skip TF's seconds-long shutdown."""
    for _, connection, process in self._workers:
      connection.close()
      process.terminate()
      process.join()
