"""AML thresholds are checked where they are used: KYC screens identities in the API."""

import pytest

from wallet.config import Settings


def test_a_wrong_aml_threshold_stops_the_api_as_well_as_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WALLET_AML", '{"sanctions_similarity": -1}')
    with pytest.raises(RuntimeError, match="WALLET_AML sanctions_similarity"):
        Settings.from_env().check()
    monkeypatch.setenv("WALLET_AML", '{"sanctions_similarity": 0.9}')
    Settings.from_env().check()
