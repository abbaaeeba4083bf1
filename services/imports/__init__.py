"""User import: JSON lines of users with the password hashes of another system, checked line by line."""

from services.imports.importer import ImportReport, UserImport, parse_line

__all__ = ["ImportReport", "UserImport", "parse_line"]
