"""Two local CPU workers train with multi_worker_mirrored and agree.

The test starts this module twice as a worker process (TF_CONFIG on
127.0.0.1, free ports); each trains the smoke model a few steps through
`asvit_tf.train.run_experiment` and saves its final weights.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests import helpers

OVERRIDE = ('{runtime: {distribution_strategy: multi_worker_mirrored}, '
            'task: {retokenization: {phases: [{stride: 8, until_step: 2}]}}, '
            'trainer: {train_steps: 4, steps_per_loop: 2, '
            'summary_interval: 2, checkpoint_interval: 4}}')


def free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def worker(model_dir, weights_path):
  """Runs in a worker process: trains, then saves the weights as .npz."""
  from asvit_tf import train  # pylint: disable=g-import-not-at-top
  params = helpers.smoke_params(OVERRIDE)
  model, _ = train.run_experiment(params, model_dir, 'train')
  np.savez(weights_path, *[w.numpy() for w in model.weights])


@pytest.mark.slow
def test_two_workers_end_with_the_same_weights(tmp_path):
  ports = free_ports(2)
  cluster = {'worker': [f'127.0.0.1:{p}' for p in ports]}
  procs = []
  for index in range(2):
    env = dict(os.environ, TF_CONFIG=json.dumps(
        {'cluster': cluster, 'task': {'type': 'worker', 'index': index}}))
    procs.append(subprocess.Popen(
        [sys.executable, '-m', 'tests.test_multiworker',
         str(tmp_path / 'model'), str(tmp_path / f'weights_{index}.npz')],
        cwd=helpers.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True))
  for proc in procs:
    output, _ = proc.communicate(timeout=400)
    assert proc.returncode == 0, output[-3000:]
  chief, other = (np.load(tmp_path / f'weights_{i}.npz') for i in range(2))
  assert len(chief.files) == len(other.files) > 0
  for key in chief.files:
    np.testing.assert_array_equal(chief[key], other[key])
  # The chief saved the checkpoint of step 4: both workers trained 4 steps.
  assert os.path.exists(tmp_path / 'model' / 'ckpt-4.index')


if __name__ == '__main__':
  worker(*sys.argv[1:])
