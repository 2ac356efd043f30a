"""``python -m vos_lib.evaluate --davis-root ROOT --results DIR --set val``: the DAVIS
toolkit drop-in (the code is :mod:`vos_lib.eval.evaluate`; this module keeps the command)."""
from .eval.evaluate import evaluate, main  # noqa: F401

if __name__ == "__main__":
    raise SystemExit(main())
