"""Keeping the store equal to Stripe: the rows a page becomes, the feeds that share a list,
the history windows read side by side, the typed checkpoint a killed sync resumes from, the
engine that runs one sync, the scheduler that says when, and the Qt service that runs syncs in
the background. Qt appears only in `service` and `scheduler`."""
