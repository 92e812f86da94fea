"""The assertion behind the bad-input tables (tests/test_fuzz.py; tests/test_checks.py can share it)."""

import pytest


def assert_clear_error(call, error, words) -> None:
  """call() raises `error`, and its message contains every one of `words`."""
  with pytest.raises(error) as info:
    call()
  message = str(info.value)
  missing = [w for w in words if w not in message]
  assert not missing, f"message {message!r} lacks {missing}"
