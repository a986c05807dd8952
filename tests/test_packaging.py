"""What the package brings to a fresh interpreter: the experiment YAMLs from a
plain (non-editable) install, and the TF environment it sets on import."""

import glob
import os
import subprocess
import sys
import zipfile

import asvit_tf
import pytest

from tests import helpers


def test_configs_resolve_from_an_installed_wheel_outside_the_checkout(
    tmp_path):
  subprocess.run(
      [sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
       '--no-build-isolation', '-w', str(tmp_path / 'wheel'), helpers.ROOT],
      check=True, capture_output=True, timeout=300)
  wheel, = glob.glob(str(tmp_path / 'wheel' / '*.whl'))
  shipped = set(zipfile.ZipFile(wheel).namelist())
  yamls = {f'official_configs/{os.path.basename(p)}'
           for p in glob.glob(os.path.join(helpers.ROOT, 'official_configs', '*.yaml'))}
  assert yamls and yamls <= shipped
  site = tmp_path / 'site'
  zipfile.ZipFile(wheel).extractall(site)  # what pip install puts in place
  found = subprocess.run(
      [sys.executable, '-c', 'import official_configs; '
       'print(official_configs.path("asvit_smoke_digits_cpu.yaml"))'],
      cwd='/', env={**os.environ, 'PYTHONPATH': str(site)},
      capture_output=True, text=True, check=True, timeout=120).stdout.strip()
  assert found == str(site / 'official_configs' /
                      'asvit_smoke_digits_cpu.yaml')
  assert os.path.isfile(found)


def _transparent_huge_pages() -> str:
  """The kernel's THP mode (always, madvise or never), '' if unknown."""
  try:
    with open('/sys/kernel/mm/transparent_hugepage/enabled') as modes:
      return modes.read().split('[')[1].split(']')[0]
  except (OSError, IndexError):
    return ''


@pytest.mark.skipif(not asvit_tf.computes_on_cpu() or
                    _transparent_huge_pages() != 'madvise',
                    reason='glibc asks for huge pages where THP is madvise')
@pytest.mark.parametrize('tunables, huge', [(None, True),
                                            ('glibc.malloc.hugetlb=0', False)])
def test_processes_started_after_the_import_get_huge_page_malloc(tunables,
                                                                 huge):
  # A metric worker's or a stage's large malloc blocks (the BFC pool's
  # regions) come in transparent huge pages, unless the user said otherwise.
  env = {k: v for k, v in os.environ.items() if k != 'GLIBC_TUNABLES'}
  if tunables:
    env['GLIBC_TUNABLES'] = tunables
  child = ('import ctypes\n'
           'libc = ctypes.CDLL(None)\n'
           'libc.malloc.restype = ctypes.c_void_p\n'
           'ctypes.memset(libc.malloc(1 << 27), 1, 1 << 27)\n'
           'rollup = open("/proc/self/smaps_rollup").read().split("\\n")\n'
           'print(next(int(line.split()[1]) for line in rollup\n'
           '           if line.startswith("AnonHugePages")))')
  code = ('import subprocess, sys, asvit_tf\n'
          f'subprocess.run([sys.executable, "-c", {child!r}], check=True)')
  found = subprocess.run([sys.executable, '-c', code], env=env,
                         capture_output=True, text=True, check=True,
                         timeout=60).stdout.split()
  assert (int(found[0]) >= 2048) == huge, found


def test_importing_the_package_first_sets_tfs_environment():
  # tf.keras is the tf_keras every layer is built on, and TF's import leaves
  # out Keras 3 and the scikit-learn it pulls in (about 1 s a process); on a
  # host that computes on its CPU, CPU tensors come from TF's pooling
  # allocator (the one that keeps statistics), free to grow to the host's
  # memory, and TF's oneDNN kernels are on whatever the CPU's generation.
  env = {k: v for k, v in os.environ.items()
         if k not in ('TF_USE_LEGACY_KERAS', 'TF_CPU_ALLOCATOR_USE_BFC',
                      'TF_CPU_BFC_MEM_LIMIT_IN_MB', 'TF_ENABLE_ONEDNN_OPTS')}
  code = ('import os, sys, asvit_tf, tensorflow as tf, tf_keras\n'
          'from tensorflow.python.util import _pywrap_util_port\n'
          'print(tf.keras.layers.Dense is tf_keras.layers.Dense, '
          '"keras" in sys.modules, "sklearn" in sys.modules)\n'
          'tf.zeros([256]) + 1\n'
          'try:\n'
          '  print(tf.config.experimental.get_memory_info("CPU:0")["peak"]'
          ' >= 1024)\n'
          'except ValueError:\n'
          '  print("no-statistics")\n'
          'print(os.environ.get("TF_CPU_BFC_MEM_LIMIT_IN_MB"))\n'
          'print(_pywrap_util_port.IsMklEnabled())')
  found = subprocess.run([sys.executable, '-c', code], env=env,
                         capture_output=True, text=True, check=True,
                         timeout=120).stdout.split()
  if asvit_tf.computes_on_cpu():
    megabytes = asvit_tf._memory_megabytes()  # pylint: disable=protected-access
    assert found == ['True', 'False', 'False', 'True', str(megabytes), 'True']
  else:
    assert found[:3] == ['True', 'False', 'False']
