"""The champion of each variant, held in memory and hot-swapped when the registry alias moves."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from soccer_assets.core.names import VARIANTS
from soccer_serving.registry import LoadedModel, RegistryClient, redact, short_error
from soccer_serving.settings import ServingSettings

logger = logging.getLogger("soccer_serving.registry")


@dataclass
class SlotStatus:
    """What the registry said and what happened on the last check of one variant."""

    registry_version: str | None = None
    last_check: dt.datetime | None = None
    registry_error: str | None = None
    load_error: str | None = None
    load_failures: int = 0
    refused: dict[str, str] = field(default_factory=dict)  # version -> reason


class ModelManager:
    """Holds the champion of each variant; ``refresh`` moves to the version the alias points at.

    Swaps are atomic (one dict assignment); a version that fails to load or is refused leaves the
    previous one in service and is reported by ``status``.
    """

    def __init__(
        self,
        settings: ServingSettings,
        registry: RegistryClient | None = None,
        on_change: Callable[[LoadedModel], None] | None = None,
    ):
        self.settings = settings
        self.registry = registry or RegistryClient(settings)
        self._models: dict[str, LoadedModel] = {}
        self.status: dict[str, SlotStatus] = {v: SlotStatus() for v in VARIANTS}
        self._refresh_lock = threading.Lock()
        self._on_change = on_change
        self.refreshes = 0

    @property
    def models(self) -> dict[str, LoadedModel]:
        return self._models

    def get(self, variant: str) -> LoadedModel | None:
        return self._models.get(variant)

    def refresh(self) -> dict[str, LoadedModel]:
        """Check the alias of every variant and load a new version if it moved. Never raises."""
        with self._refresh_lock:
            names = self.settings.model_names()
            alias = self.settings.model_alias
            for variant in VARIANTS:
                st = self.status[variant]
                try:
                    version = self.registry.alias_version(names[variant], alias)
                    st.registry_error = None
                except Exception as exc:
                    st.registry_error = short_error(exc)
                    logger.warning("registry lookup of %s@%s failed: %s", names[variant], alias,
                                   st.registry_error)
                    continue
                finally:
                    st.last_check = dt.datetime.now(dt.UTC)
                st.registry_version = version
                current = self._models.get(variant)
                if version is None or (current is not None and current.version == version):
                    if version is not None:
                        st.load_error = None
                    continue
                if version in st.refused:
                    continue
                try:
                    loaded = self.registry.load(variant, names[variant], version, alias)
                except ValueError as exc:
                    reason = redact(str(exc))
                    st.refused[version] = reason
                    st.load_error = f"version {version} refused: {reason}"
                    st.load_failures += 1
                    logger.error("%s v%s refused: %s", names[variant], version, reason)
                    continue
                except Exception as exc:
                    st.load_error = f"version {version} failed to load: {short_error(exc)}"
                    st.load_failures += 1
                    logger.warning("loading %s v%s failed: %s", names[variant], version, st.load_error)
                    continue
                st.load_error = None
                self._models = {**self._models, variant: loaded}
                logger.info("serving %s v%s (%s)", loaded.name, loaded.version, variant)
                if self._on_change is not None:
                    self._on_change(loaded)
            self.refreshes += 1
            return self._models

    def describe(self) -> dict[str, Any]:
        names = self.settings.model_names()
        out: dict[str, Any] = {}
        for variant in VARIANTS:
            st = self.status[variant]
            m = self._models.get(variant)
            out[variant] = {
                "name": names[variant],
                "alias": self.settings.model_alias,
                "loaded": m.describe() if m else None,
                "registry_version": st.registry_version,
                "last_check": st.last_check.isoformat() if st.last_check else None,
                "registry_error": st.registry_error,
                "load_error": st.load_error,
                "refused_versions": dict(st.refused),
            }
        return out
