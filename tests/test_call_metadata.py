"""Call metadata from raw ASGI headers (REST, gRPC-web) is what the decoded pairs give."""

from __future__ import annotations

import pytest

from mock_server.grpc_front import codec

HEADER_SETS = [
    [(b"authorization", b"Bearer admin-pat"), (b"x-zitadel-orgid", b"1"), (b"host", b"a:8080")],
    # A scope built by hand need not lower-case its names, as servers do.
    [(b"Authorization", b"Bearer admin-pat"), (b"X-Zitadel-OrgId", b"1"), (b"Host", b"a")],
    # The first of a repeated header; the instance host by the origin interceptor's order.
    [(b"authorization", b"Bearer one"), (b"authorization", b"Bearer two"), (b"host", b"h")],
    [(b"x-forwarded-host", b"f"), (b"forwarded", b'for=1;host="g"'), (b"host", b"h")],
    [(b"forwarded", b"for=1"), (b"x-zitadel-forwarded", b"host=z"), (b"host", b"h")],
    [(b"x-zitadel-instance-host", b""), (b"host", b"h\xe9")],  # latin-1, as Headers decodes
    [],
]


@pytest.mark.parametrize("headers", HEADER_SETS)
def test_raw_headers_give_the_metadata_of_the_decoded_pairs(headers):
    decoded = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
    expected = codec.metadata_from_pairs(decoded, transport="rest")
    assert codec.metadata_from_asgi(headers, transport="rest") == expected


def test_a_hand_built_scope_with_capitalised_names_still_authenticates():
    metadata = codec.metadata_from_asgi(HEADER_SETS[1], transport="rest")
    given = (metadata.authorization, metadata.org_id, metadata.host)
    assert given == ("Bearer admin-pat", "1", "a")
