"""The envelope example (the README's) runs."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "envelope.py"


@pytest.mark.parametrize("data_dir", [False, True])
def test_envelope_example(tmp_path, data_dir):
    pytest.importorskip("cryptography")
    args = [sys.executable, str(EXAMPLE)] + ([str(tmp_path / "data")] if data_dir else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    if out.returncode != 0 and "OpenLockedMemory" in out.stderr:
        pytest.skip("memory cannot be locked here (ulimit -l)")
    assert out.returncode == 0, out.stderr
    assert "sealed and opened 1,048,576 bytes under arn:aws:kms:us-east-1:111122223333:key/" in out.stdout
