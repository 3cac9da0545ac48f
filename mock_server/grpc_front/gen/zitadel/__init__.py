"""Protos of ZITADEL's zitadel.v1, zitadel.{user,org,action}.v1 and zitadel.management.v1."""
