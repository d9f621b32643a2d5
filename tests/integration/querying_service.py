"""A nameko service with a store on PostgreSQL, whose `wait_in_store` holds one of its queries
there as long as asked (run by tests/integration/test_cooperative_store.py with `nameko run`)."""

from __future__ import annotations

from services.kernel.process.nameko_support import ApplicationProvider
from services.kernel.process.prompt import rpc
from services.kernel.store.environment import ServiceApplication, store_env


def build() -> ServiceApplication:
    return ServiceApplication(env=store_env("querying"))


class Querying:
    name = "querying"
    app: ServiceApplication = ApplicationProvider(build)

    @rpc
    def wait_in_store(self, seconds: float) -> float:
        with self.app.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT pg_sleep(%s)", (seconds,))
        return seconds

    @rpc
    def ping(self) -> str:
        return "pong"
