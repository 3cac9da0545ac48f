"""The conformance suite's own tests, collected with ``pytest --pyargs conformance.suite``.

Each test carries the ``zitadel_check`` marker naming the matrix column it fills; the fixtures
``zitadel_target`` and ``zitadel_restore`` come from :mod:`conformance.plugin`.
"""
