"""The benchmarks' peer venvs, installed from exact versions.

Each peer (FLAML, Evidently, ...) runs in its own venv under ~/.cache/smelt,
installed from its requirements under a constraints file in
scripts/constraints/ that pins every package, so a benchmark compares against
the same peer build on every machine. The venv records the digest of what it
was installed from and is rebuilt when either changes.
"""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

CONSTRAINTS = Path(__file__).resolve().parent / "constraints"
MARKER = ".smelt-constraints.sha256"


def digest(requirements, constraints):
    text = "\n".join(requirements) + "\n" + constraints.read_text()
    return hashlib.sha256(text.encode()).hexdigest()


def ensure(venv, requirements, constraints_name, timeout=None):
    """Returns the venv's python after making sure it holds exactly
    `requirements` under scripts/constraints/`constraints_name`.

    Raises subprocess.CalledProcessError or TimeoutExpired when pip fails."""
    venv = Path(venv)
    python = venv / "bin" / "python"
    constraints = CONSTRAINTS / constraints_name
    wanted = digest(requirements, constraints)
    marker = venv / MARKER
    if python.exists() and marker.exists() and marker.read_text().strip() == wanted:
        return python
    if venv.exists():
        print(f"{venv} was installed from other versions; rebuilding it", file=sys.stderr)
        shutil.rmtree(venv)
    print(f"creating {venv} (once)…", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements, "-c", str(constraints)],
                   check=True, timeout=timeout)
    marker.write_text(wanted + "\n")
    return python
