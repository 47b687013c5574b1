"""Numbers from registrations: the formula language, the periods it is measured over, and the
dashboards that show the results.

A formula goes one way, one module a step, so that each can be read (and tested) alone:
syntax (text to a tree, errors at their position) -> binder (names to data sources and fields,
saved formulas expanded, filters to SQL by services/query) -> sql (an aggregate to one query)
-> evaluate (values per currency, arithmetic, a KPI's value). library is the service the app
holds: saved formulas and the catalogs that know them."""
