"""Who a person is to the rest of the platform: the `app_user` row.

Sign-up, log-in and verification (`wallet.users`) send mail, raise security alerts and
bind devices, so notifications and security sit below them; yet those need the user's
row too (a notice's address, a lock that serialises one user's sign-ins). The row lives
here, below all of them, so that neither has to import `wallet.users`.
"""
