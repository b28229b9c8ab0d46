"""Every public function and class of the API reference (``docs/api``, the site) has numpydoc
``Parameters`` (each parameter of its signature, none that is not), ``Returns`` (functions) and
``Examples`` (which ``pytest --doctest-modules defocus_lab`` runs), checked with numpydoc's own
validator. "Public": the names of each documented module's ``__all__``.

``defocus_lab.ui`` and ``defocus_lab.experiments`` are the notebooks' explorers and figure code,
not an API (``docs/api/index.rst`` says so), and are not checked.
"""
import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate", reason="numpydoc (the docs extra) checks the docstrings")

#: the modules of the API reference: docs/api/<name>.rst documents each one's __all__
DOCUMENTED = ["defocus_lab", "defocus_lab.estimate", "defocus_lab.propagate", "defocus_lab.apps",
              "defocus_lab.apps.deblur", "defocus_lab.sweep", "defocus_lab.types", "defocus_lab.conventions",
              "defocus_lab.metrics", "defocus_lab.data", "defocus_lab.synth", "defocus_lab.kernels",
              "defocus_lab.models"]
#: numpydoc's codes: a parameter not documented (PR01) or documented but not in the signature
#: (PR02), no Returns (RT01), no Examples (EX01), no docstring (GL08)
CODES = {"PR01", "PR02", "RT01", "EX01", "GL08"}


def _public():
    seen = {}
    for m in DOCUMENTED:
        mod = importlib.import_module(m)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return sorted(seen.items())


PUBLIC = _public()


def test_every_documented_module_declares_its_public_names():
    for m in DOCUMENTED:
        assert hasattr(importlib.import_module(m), "__all__"), f"{m} has no __all__: the API page would list everything"


def test_the_api_pages_document_every_module():
    from pathlib import Path
    pages = Path(__file__).resolve().parents[1] / "docs" / "api"
    text = "\n".join(p.read_text() for p in pages.glob("*.rst"))
    for m in DOCUMENTED[1:]:
        assert f"automodule:: {m}\n" in text, f"no page of docs/api documents {m}"


@pytest.mark.parametrize("qualname", [q for q, _ in PUBLIC])
def test_numpydoc_sections(qualname):
    obj = dict(PUBLIC)[qualname]
    errors = [(code, msg) for code, msg in numpydoc_validate.validate(qualname)["errors"] if code in CODES]
    if inspect.isclass(obj):  # a class returns nothing; an exception takes the base's parameters
        errors = [(c, m) for c, m in errors if c != "RT01" and not (issubclass(obj, BaseException) and c == "PR01")]
    assert not errors, f"{qualname}: " + "; ".join(f"{c} {m}" for c, m in errors)
