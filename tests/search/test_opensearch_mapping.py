"""An OpenSearch index built by an older portal keeps working after an upgrade."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from portal.search import open_index
from portal.search.opensearch import client_for, index_body
from tests.opensearch_node import opensearch_url, with_prefix
from tests.search.conftest import Corpus, _opensearch_cleanup

pytestmark = pytest.mark.opensearch


@pytest.fixture
def old_index_url() -> Iterator[str]:
    """An alias over an index whose mapping predates the `compound` field."""
    prefix = f"aftaleportalen-test-{uuid.uuid4().hex[:12]}"
    url = with_prefix(opensearch_url(), prefix)
    body = index_body()
    del body["mappings"]["properties"]["compound"]
    body["aliases"] = {prefix: {"is_write_index": True}}
    client = client_for(url)
    try:
        client.indices.create(index=f"{prefix}-20240101t000000000000", body=body)
    finally:
        client.close()
    yield url
    _opensearch_cleanup(url, prefix)


def test_an_index_from_before_the_compound_field_takes_new_records(old_index_url: str) -> None:
    index = open_index(old_index_url, create=True)
    try:
        corpus = Corpus(index, "opensearch")
        corpus.add(corpus.page(1, text="Anvisningsaftalen med kommunen er fornyet"))
        assert corpus.ids("anvisningsaftalen") == [1]
        assert corpus.ids("anvisning") == [1]  # through the field that was added
    finally:
        index.close()
