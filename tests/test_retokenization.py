"""The re-tokenization phase schedule (Sec. 4, Table 6)."""

import pytest

from asvit_tf import errors
from asvit_tf import retokenization
from asvit_tf.configs import image_classification as cfg


def schedule(*phases, steps_per_epoch=0):
  return retokenization.Schedule.from_config(cfg.Retokenization(
      phases=[cfg.RetokenizationPhase(**p) for p in phases],
      steps_per_epoch=steps_per_epoch))


def test_phase_of_every_step_from_epochs_and_steps():
  s = schedule({'stride': 16, 'until_epoch': 2},
               {'stride': 8, 'until_step': 25}, steps_per_epoch=10)
  strides = [s.phase_at(step).stride for step in range(30)]
  assert strides == [16] * 20 + [8] * 5 + [4] * 5
  assert [(p.start_step, p.end_step) for p in s.phases] == [
      (0, 20), (20, 25), (25, None)]
  assert s.phase_at(21).steps_left(21) == 4
  assert s.phase_at(10 ** 9).index == 2


def test_empty_schedule_is_the_baseline():
  s = schedule()
  assert [(p.stride, p.start_step, p.end_step) for p in s.phases] == [
      (4, 0, None)]


@pytest.mark.parametrize('phases, steps_per_epoch, fragment', [
    (({'stride': 12, 'until_step': 5},), 0, 'stride=12'),
    (({'stride': 4, 'until_step': 5},), 0, 'stride=4'),
    (({'stride': 16, 'until_step': 5}, {'stride': 8, 'until_step': 5}), 0,
     'not after its start 5'),
    (({'stride': 16},), 0, 'exactly one of'),
    (({'stride': 16, 'until_step': 3, 'until_epoch': 1},), 10,
     'exactly one of'),
    (({'stride': 16, 'until_epoch': 1},), 0, 'steps_per_epoch=0'),
])
def test_bad_schedules_name_the_phase(phases, steps_per_epoch, fragment):
  with pytest.raises(errors.UsageError, match=fragment):
    schedule(*phases, steps_per_epoch=steps_per_epoch)


@pytest.mark.parametrize('key', sorted(retokenization.TABLE6_SCHEDULES))
def test_paper_flops_ratios_give_table6_savings(key):
  # Fig. 4's 13.2 % and 28.5 % reproduce Table 6's FLOPs savings.
  fraction = retokenization.cost_fraction(
      retokenization.TABLE6_SCHEDULES[key], retokenization.PAPER_FLOPS_RATIO)
  assert 1 - fraction == pytest.approx(float(key.rstrip('%')) / 100,
                                       abs=6e-4)
