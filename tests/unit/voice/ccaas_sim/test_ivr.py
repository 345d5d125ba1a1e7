"""The simulator's IVR: menu choice → queue, account number collected, retries, giving up."""

from __future__ import annotations

import pytest

from omniroute.core.errors import InvalidInput
from omniroute.voice.ccaas_sim.ivr import IvrScript, IvrSession, IvrStep


def test_a_menu_choice_and_an_account_number_finish_the_ivr() -> None:
    ivr = IvrSession.start(IvrScript())
    ivr.press("2")
    assert ivr.step is IvrStep.ACCOUNT
    assert ivr.queue == "Support"
    ivr.press("12345678#")
    assert ivr.done
    assert ivr.data == {"menu": "technical support", "account_number": "12345678", "ivr_result": "completed"}


def test_keys_can_arrive_one_by_one_or_all_at_once() -> None:
    at_once = IvrSession.start(IvrScript())
    at_once.press("11234#")
    one_by_one = IvrSession.start(IvrScript())
    for key in "11234#":
        one_by_one.press(key)
    assert at_once.data == one_by_one.data
    assert at_once.turns == one_by_one.turns


def test_star_repeats_the_menu_and_clears_a_half_typed_account_number() -> None:
    ivr = IvrSession.start(IvrScript())
    ivr.press("*")
    assert ivr.step is IvrStep.MENU
    assert ivr.turns[-1].text == IvrScript().menu_prompt()
    ivr.press("199*")
    assert ivr.step is IvrStep.ACCOUNT
    ivr.press("5555#")
    assert ivr.data["account_number"] == "5555"


def test_a_wrong_option_asks_again_then_the_ivr_gives_up_and_queues_the_caller() -> None:
    ivr = IvrSession.start(IvrScript(attempts=3))
    ivr.press("7")
    assert ivr.step is IvrStep.MENU
    assert ivr.turns[-1].text.startswith("Sorry, that is not an option.")
    ivr.press("89")
    assert ivr.done
    assert ivr.queue == "General"
    assert ivr.data == {"menu": "none", "ivr_result": "gave_up"}


def test_an_account_number_too_short_or_too_long_is_refused() -> None:
    ivr = IvrSession.start(IvrScript(account_min_digits=4, account_max_digits=6, attempts=3))
    ivr.press("1")
    ivr.press("12#")
    assert ivr.step is IvrStep.ACCOUNT
    ivr.press("1234567")  # the seventh digit ends the entry: nobody has an account number that long
    assert ivr.step is IvrStep.ACCOUNT
    assert "account_number" not in ivr.data
    ivr.press("4321#")
    assert ivr.data["account_number"] == "4321"


def test_an_ivr_that_gives_up_on_the_account_keeps_the_menu_choice() -> None:
    ivr = IvrSession.start(IvrScript(attempts=2))
    ivr.press("1##")
    assert ivr.done
    assert ivr.queue == "Billing"
    assert ivr.data == {"menu": "billing", "ivr_result": "gave_up"}


def test_keys_after_the_ivr_finished_are_ignored() -> None:
    ivr = IvrSession.start(IvrScript())
    ivr.press("11234#99")
    assert ivr.data["account_number"] == "1234"
    assert ivr.turns[-1].speaker == "bot"


def test_what_the_ivr_said_and_heard_is_a_transcript() -> None:
    ivr = IvrSession.start(IvrScript())
    ivr.press("11234#")
    speakers = [t.speaker for t in ivr.turns]
    assert speakers == ["bot", "bot", "customer", "bot", "customer", "bot"]
    assert ivr.turns[2].text == "(pressed 1)"
    assert ivr.turns[4].text == "(pressed 1234#)"


def test_only_dtmf_keys_are_accepted() -> None:
    ivr = IvrSession.start(IvrScript())
    with pytest.raises(InvalidInput, match="DTMF keys"):
        ivr.press("1a")
    assert ivr.step is IvrStep.MENU  # nothing of a refused entry was applied


def test_the_script_lists_each_queue_once_with_the_fallback() -> None:
    assert IvrScript().queues == ("Billing", "Support", "General")
