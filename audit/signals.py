"""Sign-ins and Celery tasks set or record audit context. Signals here carry no business
logic: they say who acts, and record the sign-in events Django only announces."""

from typing import Any

from celery.signals import task_postrun, task_prerun
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.context import Actor, _actor, _extra_context
from audit.models import ActorType
from audit.services import record

_task_tokens: dict[str, tuple[Any, Any]] = {}


@task_prerun.connect
def _task_acts_as_system(task_id: str, task: Any, **_: Any) -> None:
    _task_tokens[task_id] = (
        _actor.set(Actor.system(f"task {task.name}")),
        _extra_context.set({"task": task.name, "task_id": task_id}),
    )


@task_postrun.connect
def _task_done(task_id: str, **_: Any) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        _extra_context.reset(tokens[1])
        _actor.reset(tokens[0])


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    record(
        action="user.logged_in",
        targets=[{"type": "user", "id": str(user.pk), "name": user.email}],
        actor=Actor(ActorType.USER, str(user.pk), user.email),
    )


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None:
        record(
            action="user.logged_out",
            targets=[{"type": "user", "id": str(user.pk), "name": user.email}],
            actor=Actor(ActorType.USER, str(user.pk), user.email),
        )


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:255]
    record(
        action="user.login_failed",
        outcome="failure",
        metadata={"attempted": attempted},
        actor=Actor(ActorType.ANONYMOUS, "", attempted),
    )
