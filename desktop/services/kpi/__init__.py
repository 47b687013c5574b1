"""Numbers from registrations: the formula language (syntax, binding to data sources, SQL,
evaluation), the periods it is measured over, and the dashboards that show the results."""
