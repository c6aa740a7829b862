"""The one Jinja2 set-up of the official documents (letters, reports, bulletins): templates from
the package's `templates/` folder, StrictUndefined (a missing value is an error, never an empty
place in a legal record), HTML autoescaped, blocks trimmed."""

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def document_env(package: str) -> Environment:
    return Environment(
        loader=PackageLoader(package, "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
