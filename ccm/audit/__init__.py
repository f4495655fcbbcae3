"""Communication records: every document made for a customer, with what explains it."""
