"""Money: the cost ledger, pricing, reports, budgets and their forecast and alerts."""
