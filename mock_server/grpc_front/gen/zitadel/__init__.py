"""Protos of ZITADEL's zitadel.v1 and zitadel.management.v1."""
