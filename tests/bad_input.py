"""The assertion behind the bad-input tables (every tests/<package>/test_fuzz.py;
tests/test_checks.py shares it).

A fuzz file holds `CASES = {"<package>.<entry>:<what is bad>": (call, error type,
words)}` and `test_bad_input_raises_a_clear_error = fuzz_test(CASES)`;
tests/test_fuzz_coverage.py reads the keys to see which public entries are fuzzed.
"""

import pytest


def assert_clear_error(call, error, words) -> None:
  """call() raises `error`, and its message contains every one of `words`."""
  with pytest.raises(error) as info:
    call()
  message = str(info.value)
  missing = [w for w in words if w not in message]
  assert not missing, f"message {message!r} lacks {missing}"


def fuzz_test(cases):
  """The parametrized test of a fuzz table: each case raises its clear error."""
  @pytest.mark.parametrize("name", sorted(cases))
  def test_bad_input_raises_a_clear_error(name):
    assert_clear_error(*cases[name])
  return test_bad_input_raises_a_clear_error
