"""SMTP test server for alert/email's tests, on Debian's python3-aiosmtpd.

As a handler class for the aiosmtpd command (PYTHONPATH=testdata,
-c vigiltest.Handler MAILDIR), Handler delivers to a Maildir like
aiosmtpd.handlers.Mailbox but refuses some recipients by their local part:
unknown@... gets 550, busy@... gets 451.

Run as a script it is a server that requires AUTH (PLAIN or LOGIN):

    vigiltest.py HOST PORT MAILDIR USER [CERT KEY]

The password is $VIGILTEST_PASSWORD. With CERT and KEY it offers STARTTLS
and accepts AUTH only after it; without, it accepts AUTH in clear text
(loopback tests). With $VIGILTEST_LOGIN_ONLY set it offers AUTH LOGIN
only. Delivered messages get an X-Auth-User header.
"""

import os
import signal
import sys

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local == "unknown":
            return "550 5.1.1 <%s>: unknown recipient" % address
        if local == "busy":
            return "451 4.3.0 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def prepare_message(self, session, envelope):
        message = super().prepare_message(session, envelope)
        auth = getattr(session, "auth_data", None)
        if isinstance(auth, LoginPassword):
            message["X-Auth-User"] = auth.login.decode()
        return message


def main():
    from aiosmtpd.controller import Controller
    import ssl

    host, port, maildir, user = sys.argv[1:5]
    password = os.environ["VIGILTEST_PASSWORD"].encode()
    kwargs = {}
    if len(sys.argv) > 6:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[5], sys.argv[6])
        kwargs = dict(tls_context=ctx, require_starttls=True, auth_require_tls=True)
    else:
        kwargs = dict(auth_require_tls=False)

    if os.environ.get("VIGILTEST_LOGIN_ONLY"):
        kwargs["auth_exclude_mechanism"] = ["PLAIN"]

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    controller = Controller(Handler(maildir), hostname=host, port=int(port),
                            authenticator=authenticator, auth_required=True, **kwargs)
    controller.start()
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
