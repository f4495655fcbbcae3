"""Channel adapters: SMTP email, an SMS provider over HTTP, a print spool."""
