"""Drop-in replacements for other libraries' classes (``reckernels.compat.surprise``)."""
