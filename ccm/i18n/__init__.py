"""Translations: messages extracted from templates into gettext catalogs, catalogs
checked and compiled, and reports of what is not translated (``ccm i18n``)."""
