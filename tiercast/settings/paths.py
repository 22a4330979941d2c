"""Where tiercast reads and writes: every path in the project comes from here."""

from pathlib import Path

from tiercast.settings.base import Section


class PathsSettings(Section):
    """Folders and files; relative paths resolve against `root` (itself relative to the working directory)."""

    root: Path
    raw: Path
    quarantine: Path
    reports: Path
    features: Path
    mlflow: Path
    published: Path
    retention: Path
    prefect_home: Path
    work: Path
    state: Path
    monitoring: Path

    def resolve(self, path: Path) -> Path:
        """Return `path` made absolute against `root`."""
        base = self.root if self.root.is_absolute() else Path.cwd() / self.root
        return path if path.is_absolute() else (base / path).resolve()
