"""The long-running loops: the webhook inbox worker, the notification sender, the domain-event relay and
the outbound webhook sender (``background.py`` starts them all, in ``serve`` or ``milesgate worker``)."""
