"""Least privilege in the PostgreSQL stores (services/kernel/store/roles.py): what the schema's
owner grants a service's role — insert and read, never update or delete an event."""

from __future__ import annotations

from services.kernel.store.roles import grants, guards


def test_a_services_role_may_insert_and_read_its_events_but_never_change_them():
    statements = [
        g.as_string(None)
        for g in grants("registry", "registry_events", "registry_tracking", "registry")
    ]
    granted = [s for s in statements if s.startswith("GRANT")]

    assert statements[0] == 'REVOKE ALL ON ALL TABLES IN SCHEMA "registry" FROM "registry"'
    assert 'GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA "registry" TO "registry"' in granted
    assert not any("DELETE" in s or "TRUNCATE" in s or "ALL PRIVILEGES" in s for s in granted)
    updates = [s for s in granted if "UPDATE" in s]
    assert updates == ['GRANT UPDATE ON "registry"."registry_tracking" TO "registry"']
    assert 'GRANT MAINTAIN ON "registry"."registry_events" TO "registry"' in granted


def test_before_postgresql_17_the_lock_right_is_update_and_the_owners_triggers_refuse_changes():
    granted = [
        g.as_string(None)
        for g in grants("registry", "registry_events", "registry_tracking", "registry", 150000)
    ]
    assert 'GRANT UPDATE ON "registry"."registry_events" TO "registry"' in granted
    assert not any("MAINTAIN" in s for s in granted)
    triggers = " ".join(g.as_string(None) for g in guards("registry", "registry_events"))
    assert "BEFORE UPDATE OR DELETE" in triggers and "BEFORE TRUNCATE" in triggers
