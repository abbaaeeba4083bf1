"""Mail: the typed messages the server sends, the worker that composes them from templates at delivery time and
hands them to a mailer (console, SMTP, Mailgun), and the notices the account lifecycle sends."""

from services.mail.composer import MailComposer, SignInCodeIssuer
from services.mail.mailers import (
    ConsoleMailer,
    Mail,
    Mailer,
    MailgunMailer,
    PermanentMailError,
    SmtpMailer,
    build_mailer,
)
from services.mail.messages import (
    MAIL_MESSAGES,
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
from services.mail.notifier import AccountNotifier, MailNotifier
from services.mail.worker import MailWorker

__all__ = ["MAIL_MESSAGES", "AccountDeleted", "AccountNotifier", "AddressConfirmed", "ConsoleMailer",
           "EmailChangeNotice", "EmailChangeRequested", "EmailChanged", "Invitation", "Mail", "MailComposer",
           "MailMessage", "MailNotifier", "MailWorker", "Mailer", "MailgunMailer", "PasswordChanged",
           "PermanentMailError", "PhoneChanged", "ResetRequest", "SecondFactorAdded", "SecondFactorRemoved",
           "SignInCode", "SignInCodeIssuer", "SignupAttempt", "SmtpMailer", "VerifyAddress", "VerifyRequest",
           "build_mailer"]
