"""Dashboard forms of the accounts app. They check shape only; the services decide."""

from django import forms


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="Where the key is used, so you know which to revoke: “CI”, “billing service”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
