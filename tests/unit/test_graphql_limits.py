"""Operation limits (depth, aliases) and the parse/validation caches in front of them."""

from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from wallet.api.graphql.schema import OPERATION_CACHE_SIZE, build_schema

SCHEMA = build_schema(production=True)
TOO_DEEP = "{ me { " + "wallet { " * 11 + "id" + " }" * 13
ALIASED = "{ " + " ".join(f"a{i}: __typename" for i in range(16)) + " }"


async def errors_of(query: str) -> list[str]:
    result = await SCHEMA.execute(query)
    return [error.message for error in result.errors or []]


async def test_limits_refuse_deep_and_aliased_operations_every_time() -> None:
    # The second time the validation comes from the cache: it must refuse just the same.
    for _ in range(2):
        assert any("exceeds maximum operation depth" in m for m in await errors_of(TOO_DEEP))
        assert any("aliases" in m for m in await errors_of(ALIASED))


async def test_a_repeated_operation_is_parsed_and_validated_once() -> None:
    query = "query Repeated { __typename }"
    parsed, validated = (
        _get_parse_cache(OPERATION_CACHE_SIZE),
        _get_validate_cache(OPERATION_CACHE_SIZE),
    )
    await SCHEMA.execute(query)
    parse_hits, validate_hits = parsed.cache_info().hits, validated.cache_info().hits
    result = await SCHEMA.execute(query)
    assert result.errors is None and result.data == {"__typename": "Query"}
    assert parsed.cache_info().hits == parse_hits + 1
    assert validated.cache_info().hits == validate_hits + 1
