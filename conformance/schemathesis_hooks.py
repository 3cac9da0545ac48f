"""Point SCHEMATHESIS_HOOKS here to make ``schemathesis run`` apply the contract's rules."""

from conformance.schemathesis_checks import register

register()
