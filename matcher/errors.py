"""The one exception the engine raises for bad input."""

from __future__ import annotations


class InvalidProblemError(ValueError):
    """A problem that cannot be solved as written.

    ``errors`` maps a field path (``demands[17].window.end``) to a list of messages, so the
    service can answer 422 with every problem at once and the CLI can print the first one.
    """

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = {path: list(messages) for path, messages in errors.items()}
        first_path = next(iter(self.errors), "")
        first = self.errors.get(first_path, ["invalid problem"])[0]
        super().__init__(f"{first_path}: {first}" if first_path else first)

    def one_line(self) -> str:
        """The first error as ``path: message`` plus how many more there are."""
        count = sum(len(v) for v in self.errors.values())
        more = f" (and {count - 1} more)" if count > 1 else ""
        return f"{self.args[0]}{more}"
