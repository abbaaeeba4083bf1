"""Passwordless sign-in: codes and magic links by mail, codes by SMS (through a durable outbox of its own, sent by
the console, Twilio or a signed webhook), the account's verified phone number, and anonymous accounts that become
full ones later. Codes and link tokens are single use, short-lived and stored only hashed; asking for one answers
the same for every address and number."""

from services.passwordless.accounts import PasswordlessAccounts
from services.passwordless.anonymous import AnonymousAccounts
from services.passwordless.codes import Challenge, IssuedChallenge, SignInCodes
from services.passwordless.delivery import CodeDelivery
from services.passwordless.phone import PhoneNumbers
from services.passwordless.phones import masked, normalize_phone
from services.passwordless.sign_in import PasswordlessSignIn
from services.passwordless.sms import (
    ConsoleSms,
    PermanentSmsError,
    Sms,
    SmsSender,
    TwilioSms,
    WebhookSms,
    build_sms_sender,
)
from services.passwordless.texts import SMS_MESSAGES, PhoneChangeText, SignInText, SmsMessage, SmsWorker, TextComposer

__all__ = ["SMS_MESSAGES", "AnonymousAccounts", "Challenge", "CodeDelivery", "ConsoleSms", "IssuedChallenge",
           "PasswordlessAccounts", "PasswordlessSignIn", "PermanentSmsError", "PhoneChangeText", "PhoneNumbers",
           "SignInCodes", "SignInText", "Sms", "SmsMessage", "SmsSender", "SmsWorker", "TextComposer", "TwilioSms",
           "WebhookSms", "build_sms_sender", "masked", "normalize_phone"]
