"""Routing policy: priorities, queues, service levels and call-back by tier, stage, risk and list."""

from tiercast.settings.base import Section


class RoutingSettings(Section):
    """Routing policy: priorities, queues, service levels and call-back by tier, stage, risk and list."""
