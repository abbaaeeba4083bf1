"""Turns an outbox message (an intent) into the mail to send, from the Jinja2 templates in templates/mail.

Composing happens at delivery time, in the worker: whether an account exists for an address is looked
up there (so the request that asked answers the same, at the same speed, either way), a link's secret
is made only for a mail that really goes out, and the user's current address is the one mailed.
Links are built from `APP_URL` alone, never from the Host header of a request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import jinja2

from services.config import Config
from services.mail.mailers import Mail, PermanentMailError
from services.mail.messages import (
    AccountDeleted,
    AddressConfirmed,
    EmailChanged,
    EmailChangeNotice,
    EmailChangeRequested,
    Invitation,
    MailMessage,
    PasswordChanged,
    PhoneChanged,
    ResetRequest,
    SecondFactorAdded,
    SecondFactorRemoved,
    SignInCode,
    SignupAttempt,
    VerifyAddress,
    VerifyRequest,
)
from services.tokens import ActionLinks
from services.users import PendingEmailChange, User, UserStore, deliverable

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "mail"

SUBJECTS = {
    "verify": "Confirm your email address for {app}",
    "reset": "Reset your {app} password",
    "password-changed": "Your {app} password was changed",
    "email-changed": "Your {app} email address was changed",
    "signup-attempt": "Someone tried to sign up to {app} with your address",
    "account-deleted": "Your {app} account was deleted",
    "email-change-confirm": "Confirm your new email address for {app}",
    "email-change-notice": "A change of your {app} email address was requested",
    "email-change-taken": "Someone tried to move a {app} account to your address",
    "address-confirmed": "Your {app} email address is confirmed",
    "invite": "You are invited to {app}",
    "sign-in-code": "Your {app} sign-in code",
    "phone-changed": "The phone number of your {app} account was changed",
    "mfa-factor-added": "A sign-in method was added to your {app} account",
    "mfa-factor-removed": "A sign-in method was removed from your {app} account",
}


class SignInCodeIssuer(Protocol):
    """Makes the code and link a sign-in mail carries, when the address may sign in (services/passwordless)."""

    @property
    def lifetime(self) -> int: ...

    async def mail_code(self, address: str, create_user: bool, redirect_to: str,
                        fresh: bool) -> tuple[str, str] | None:
        """The code and the magic link's token, or None: nothing is to be sent to `address`."""


def duration(seconds: int) -> str:
    """`86400` -> `24 hours`: how long a link stays valid, as a person says it."""
    for size, unit in ((3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


class MailComposer:
    def __init__(self, *, config: Config, users: UserStore, links: ActionLinks,
                 sign_in: SignInCodeIssuer | None = None) -> None:
        self._config = config
        self._users = users
        self._links = links
        self._sign_in = sign_in
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        )

    def link(self, page: str, **query: str) -> str:
        return self._config.app_url + page + (f"?{urlencode(query)}" if query else "")

    async def compose(self, message: MailMessage | None) -> Mail | None:
        """The mail for this message, or None when there is nobody (left) to send it to, or the address
        cannot receive mail (`.invalid`)."""
        mail = await self._compose(message)
        return mail if mail is None or deliverable(mail.to) else None

    async def _compose(self, message: MailMessage | None) -> Mail | None:
        match message:
            case VerifyAddress() | VerifyRequest():
                user = await self._user(message)
                if user is None or user.email_verified or not deliverable(user.email):
                    return None
                token = await self._links.issue(user, "verify")
                return self.render("verify", user.email, user=user, link=self.link("verify-email", token=token),
                                   valid_for=duration(self._links.lifetime("verify")))
            case ResetRequest():
                user = await self._user(message)
                if user is None or not deliverable(user.email):  # no link is made for an address nobody reads
                    return None
                token = await self._links.issue(user, "reset")
                return self.render("reset", user.email, user=user, link=self.link("reset-password", token=token),
                                   valid_for=duration(self._links.lifetime("reset")))
            case Invitation(uid=uid):
                user = await self._users.find_by_uid(uid)
                if user is None or not deliverable(user.email):
                    return None
                token = await self._links.issue(user, "reset")
                return self.render("invite", user.email, user=user, link=self.link("reset-password", token=token),
                                   valid_for=duration(self._links.lifetime("reset")))
            case EmailChangeRequested() | EmailChangeNotice():
                return await self._email_change(message)
            case PasswordChanged() | AddressConfirmed() | SecondFactorAdded() | SecondFactorRemoved():
                user = await self._users.find_by_uid(message.uid)
                return None if user is None else self.render(message.kind, user.email, user=user, message=message)
            case EmailChanged() | SignupAttempt():
                user = await self._user(message)
                if user is None:
                    return None
                to = message.old_email if isinstance(message, EmailChanged) else user.email
                return self.render(message.kind, to, user=user)
            case AccountDeleted(email=email, name=name):
                return self.render(message.kind, email, user={"email": email, "name": name})
            case SignInCode() if self._sign_in is not None:
                issued = await self._sign_in.mail_code(message.email, message.create_user, message.redirect_to,
                                                       message.fresh)
                if issued is None:  # no account, and none to be made: nothing goes out
                    return None
                code, token = issued
                return self.render(message.kind, message.email, code=code, link=self.link("magic-link", token=token),
                                   valid_for=duration(self._sign_in.lifetime))
            case PhoneChanged():
                user = await self._users.find_by_uid(message.uid)
                return None if user is None else self.render(message.kind, user.email, user=user, phone=message.phone)
        # A record this version cannot read: retrying cannot help, straight to the dead letters.
        raise PermanentMailError("unknown mail message")

    async def _email_change(self, message: EmailChangeRequested | EmailChangeNotice) -> Mail | None:
        """The links of a change still pending as `message.change_id`; nothing for one replaced or done since."""
        user = await self._users.find_by_uid(message.uid)
        change = user.pending_email_change if user else None
        if user is None or change is None or change.id != message.change_id:
            return None
        valid_for = duration(self._links.lifetime("email-new"))
        if isinstance(message, EmailChangeNotice):
            if not deliverable(user.email):
                return None
            confirm = await self._links.issue(user, "email-current") if change.current_must_confirm else None
            cancel = await self._links.issue(user, "email-cancel")
            return self.render("email-change-notice", user.email, user=user, change=change, valid_for=valid_for,
                               confirm_link=self.link("confirm-email-change", token=confirm) if confirm else None,
                               cancel_link=self.link("cancel-email-change", token=cancel))
        return await self._to_new_address(user, change, valid_for)

    async def _to_new_address(self, user: User, change: PendingEmailChange, valid_for: str) -> Mail:
        # Looked up only here, at delivery: the request answered the same, at the same speed, for a taken address.
        holder = await self._users.find_holder(change.email)
        if holder is not None and holder.uid != user.uid:  # to the holder's own address, not a lookalike of it
            return self.render("email-change-taken", holder.email, user=holder, requested=change.email)
        token = await self._links.issue(user, "email-new")
        return self.render("email-change-confirm", change.email, user=user, change=change, valid_for=valid_for,
                           link=self.link("confirm-email-change", token=token))

    def render(self, template: str, to: str, **context: Any) -> Mail:
        config = self._config
        context = {"app_name": config.app_name, "app_logo_url": config.mail_logo_url, "app_url": config.app_url,
                   "forgot_link": self.link("forgot-password"), "to": to, **context}
        text = self._templates.get_template(f"{template}.txt").render(context)
        html = self._templates.get_template(f"{template}.html").render(context)
        return Mail(to=to, subject=SUBJECTS[template].format(app=config.app_name), text=text, html=html)

    async def _user(self, message: VerifyAddress | VerifyRequest | ResetRequest | EmailChanged
                    | SignupAttempt) -> User | None:
        if isinstance(message, VerifyAddress | EmailChanged):
            return await self._users.find_by_uid(message.uid)
        if isinstance(message, SignupAttempt):  # the address taken, or the one it looks like (its email_key)
            return await self._users.find_holder(message.email)
        return await self._users.find_by_email(message.email)
