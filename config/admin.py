"""The staff admin site: Django's own, with one search box that finds a domain by name
wherever a customer uses it (a sending domain, a storefront's custom domain), and the
small pieces the apps' admins share for that search and for reporting bulk actions."""

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import idna
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.http import urlencode

from dnscheck.names import to_display

SEARCH_RESULTS_PER_MODEL = 50
ACTION_LIMIT = 50


def domain_name_variants(term: str) -> list[str]:
    """The term as typed, in punycode and in Unicode: names are stored in punycode and
    shown in Unicode, and staff paste either."""
    text = term.strip().lower().rstrip(".")
    if not text:
        return []
    variants = {text, to_display(text)}
    # Not every term is a name (an id, half a label): then the term as typed still matches.
    with suppress(idna.IDNAError, UnicodeError, ValueError):
        variants.add(idna.encode(text, uts46=True).decode("ascii"))
    return sorted(variants)


class DomainNameSearchMixin(admin.ModelAdmin):
    """Search also matches `domain_name_fields` in either spelling of a name. Admins with
    this mixin are the ones the site-wide domain search looks in."""

    domain_name_fields: tuple[str, ...] = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        by_name = Q()
        for variant in domain_name_variants(search_term):
            for name in self.domain_name_fields:
                by_name |= Q(**{f"{name}__icontains": variant})
        if by_name:
            found = found | queryset.filter(by_name)
        return found, may_have_duplicates

    def domain_search_label(self, obj: Any) -> str:
        """The match as the domain search page names it."""
        return str(obj)

    def domain_search_detail(self, obj: Any) -> str:
        """What the match is, beside it on the domain search page."""
        return ""


@dataclass
class ActionReport:
    """What a bulk action did, told back to the staff user: how many and which objects
    ended in each outcome, and which were skipped and why."""

    done: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def ok(self, outcome: str, obj: Model | str) -> None:
        self.done.setdefault(outcome, []).append(str(obj))

    def skip(self, reason: str, obj: Model | str) -> None:
        self.skipped.setdefault(reason, []).append(str(obj))

    def send(self, model_admin: admin.ModelAdmin, request: HttpRequest) -> None:
        for outcome, names in self.done.items():
            model_admin.message_user(
                request, f"{outcome}: {len(names)} ({_listed(names)}).", messages.SUCCESS
            )
        for reason, names in self.skipped.items():
            model_admin.message_user(
                request, f"Skipped {len(names)}, {reason}: {_listed(names)}.", messages.WARNING
            )


def first_of_selection(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> QuerySet:
    """Actions that ask DNS or a provider run while the staff user waits: at most
    ACTION_LIMIT objects per run, and the user is told when the selection was cut."""
    total = queryset.count()
    if total > ACTION_LIMIT:
        model_admin.message_user(
            request,
            f"Only the first {ACTION_LIMIT} of {total} selected were handled; run the action "
            "again on the rest.",
            messages.WARNING,
        )
    return queryset[:ACTION_LIMIT]


def _listed(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


@dataclass
class DomainSearchSection:
    title: str
    changelist_url: str
    count: int
    rows: list[tuple[str, str, str]]  # (label, change url, detail)


class DomainkeeperAdminSite(admin.AdminSite):
    site_header = "Domainkeeper staff admin"
    site_title = "Domainkeeper admin"
    index_template = "admin/domainkeeper/index.html"

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [
            path("domain-search/", self.admin_view(self.domain_search), name="domain_search"),
            *super().get_urls(),
        ]

    def domain_search(self, request: HttpRequest) -> TemplateResponse:
        """Every sending domain and storefront domain whose name matches, across all
        organizations, in each model the staff user may view."""
        query = request.GET.get("q", "").strip()
        sections = []
        for model, model_admin in self._registry.items():
            if not isinstance(model_admin, DomainNameSearchMixin) or not query:
                continue
            if not model_admin.has_view_permission(request):
                continue
            queryset, may_have_duplicates = model_admin.get_search_results(
                request, model_admin.get_queryset(request), query
            )
            if may_have_duplicates:
                queryset = queryset.distinct()
            opts = model._meta
            url_name = f"admin:{opts.app_label}_{opts.model_name}"
            sections.append(
                DomainSearchSection(
                    title=str(opts.verbose_name_plural).capitalize(),
                    changelist_url=(
                        f"{reverse(f'{url_name}_changelist')}?{urlencode({'q': query})}"
                    ),
                    count=queryset.count(),
                    rows=[
                        (
                            model_admin.domain_search_label(obj),
                            reverse(f"{url_name}_change", args=[quote(obj.pk)]),
                            model_admin.domain_search_detail(obj),
                        )
                        for obj in queryset.select_related()[:SEARCH_RESULTS_PER_MODEL]
                    ],
                )
            )
        context = {
            **self.each_context(request),
            "title": f"Domains matching “{query}”" if query else "Find a domain",
            "query": query,
            "sections": sections,
        }
        return TemplateResponse(request, "admin/domainkeeper/domain_search.html", context)
