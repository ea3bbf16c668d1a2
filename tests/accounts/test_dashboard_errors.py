"""A service's refusal on a dashboard form: nothing it says is lost."""

from django import forms

from accounts.dashboard import show_service_error
from config.errors import ServiceError


class NameForm(forms.Form):
    name = forms.CharField()
    error_aliases = {"display_name": "name"}


def _shown(exc: ServiceError) -> dict[str, list[str]]:
    form = NameForm({"name": "x"})
    form.is_valid()
    show_service_error(form, exc)
    return {field: list(errors) for field, errors in form.errors.items()}


def test_field_errors_go_next_to_their_fields_through_the_aliases() -> None:
    exc = ServiceError("Refused.", errors={"display_name": ["Too short."]})

    assert _shown(exc) == {"name": ["Too short."]}


def test_a_refusal_that_names_no_field_is_shown_above_the_form() -> None:
    assert _shown(ServiceError("Refused.")) == {"__all__": ["Refused."]}


def test_a_refusal_about_no_field_of_the_form_is_shown_above_it() -> None:
    exc = ServiceError("Refused.", errors={"region": ["Not allowed."]})

    assert _shown(exc) == {"__all__": ["Refused."]}


def test_what_names_another_field_beside_one_of_ours_is_shown_above_the_form() -> None:
    exc = ServiceError("Refused.", errors={"name": ["Taken."], "region": ["Not allowed."]})

    assert _shown(exc) == {"name": ["Taken."], "__all__": ["Not allowed."]}
