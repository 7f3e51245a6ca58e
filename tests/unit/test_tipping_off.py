"""What an operator may write to a customer: nothing that reveals an AML concern."""

import pytest

from wallet.aml.tipping_off import reveals_aml


@pytest.mark.parametrize(
    "text",
    [
        "Your name is on a sanctions list",
        "Sanctioned person",
        "Pending AML review",
        "Possible money-laundering concern",
        "We filed a SAR",
        "Suspicious activity on your account",
        "You are on a watch list",
        "Matches the OFAC list",
        "We are investigating your account",
        "Open compliance case",
    ],
)
def test_texts_that_reveal_an_aml_concern_are_caught(text: str) -> None:
    assert reveals_aml(text)


@pytest.mark.parametrize(
    "text",
    [
        "Check your date of birth",
        "The photo is blurred",
        "We could not confirm who you are",
        "In case you have another document, upload it",
        "Your name is Ivan Sanctionov",  # a name is not a tip-off
        "The document has expired",
    ],
)
def test_ordinary_reasons_pass(text: str) -> None:
    assert not reveals_aml(text)
