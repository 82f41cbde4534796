"""Every error class, raised where the specification says (and the crate's others)."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, USER

import urbackup
from urbackup import (
    AccessDeniedError,
    AuthenticationError,
    ClientNotFoundError,
    UrbackupError,
    UserAlreadyExistsError,
    urbackup_server,
)


def test_the_hierarchy():
    for cls in (AuthenticationError, ClientNotFoundError, AccessDeniedError,
                UserAlreadyExistsError, urbackup.UnknownSettingError,
                urbackup.UrbackupTimeoutError, urbackup.UrbackupConnectionError,
                urbackup.HttpStatusError, urbackup.UnexpectedResponseError,
                urbackup.ServerError, urbackup.InvalidInputError, urbackup.UrbackupIOError):
        assert issubclass(cls, UrbackupError)
    assert issubclass(urbackup.UnknownSettingError, KeyError)
    assert issubclass(urbackup.UrbackupTimeoutError, TimeoutError)
    assert issubclass(urbackup.UrbackupConnectionError, ConnectionError)


def test_authentication_error(sim):
    for user, pw in [(USER, "wrong-password"), ("nobody", PASSWORD)]:
        s = urbackup_server(sim.url, user, pw)
        with pytest.raises(AuthenticationError) as e:
            s.get_client_statuses()
        assert "wrong-password" not in str(e.value)
        with pytest.raises(AuthenticationError):
            s.get_users()
        with pytest.raises(AuthenticationError):
            s.login_info()


def test_client_not_found_error(server):
    with pytest.raises(ClientNotFoundError):
        server.get_client_status_by_name("ghost")
    with pytest.raises(ClientNotFoundError):
        server.get_client_settings_typed("ghost")
    with pytest.raises(ClientNotFoundError):
        server.change_client_setting_typed("ghost", "update_freq_incr", 1)
    with pytest.raises(ClientNotFoundError):
        server.start_backup_typed("ghost", urbackup.BackupType.INCR_FILE)


def test_access_denied_error(server, sim):
    assert server.add_user("viewer", "viewer-pw", rights="status=all") is True
    v = urbackup_server(sim.url, "viewer", "viewer-pw")
    assert len(v.get_client_statuses()) == 5
    with pytest.raises(AccessDeniedError):
        v.get_global_settings_typed()
    with pytest.raises(AccessDeniedError):
        v.get_client_settings_typed("client-00001")
    with pytest.raises(AccessDeniedError):
        v.get_users()
    with pytest.raises(AccessDeniedError):
        v.add_user("x", "y")
    # The legacy surface says None / False instead.
    assert v.get_global_settings() is None
    assert v.set_global_setting("update_freq_incr", 1) is False


def test_user_already_exists_error(server):
    with pytest.raises(UserAlreadyExistsError):
        server.add_user("admin", "whatever")


def test_unknown_setting_is_a_key_error(server):
    with pytest.raises(KeyError) as e:
        server.change_client_setting_typed("client-00001", "not_a_setting", 1)
    assert isinstance(e.value, urbackup.UnknownSettingError)
    with pytest.raises(KeyError):
        server.set_global_setting_typed("not_a_setting", 1)


def test_timeout_error(server, sim):
    server.login()
    sim.control("fault?kind=stall&action=status&times=1")
    t = urbackup_server(sim.url, USER, PASSWORD, timeout=0.5, read_retries=0)
    with pytest.raises(urbackup.UrbackupTimeoutError) as e:
        t.get_client_statuses()
    assert e.value.transient is True


def test_connection_error(start_sim):
    s = start_sim()
    url = s.url
    s.stop()
    dead = urbackup_server(url, USER, PASSWORD, connect_timeout=1.0, read_retries=0)
    with pytest.raises(urbackup.UrbackupConnectionError):
        dead.get_client_statuses()


def test_http_status_error(server, sim):
    server.login()
    sim.control("fault?kind=bad_gateway&action=usage&times=10")
    s = urbackup_server(sim.url, USER, PASSWORD, read_retries=1)
    with pytest.raises(urbackup.HttpStatusError) as e:
        s.get_usage_typed()
    assert e.value.status == 502


def test_unexpected_response_error(server, sim):
    server.login()
    sim.control("fault?kind=invalid_json&action=usage&times=1")
    with pytest.raises(urbackup.UnexpectedResponseError):
        server.get_usage_typed()
    assert server.get_usage_typed()  # the next reply is fine again


def test_invalid_input_error():
    with pytest.raises(urbackup.InvalidInputError):
        urbackup_server("not a url", USER, PASSWORD)
    with pytest.raises(ValueError):
        urbackup_server("ftp://example.com/x", USER, PASSWORD)


def test_secrets_are_not_in_repr_or_errors(sim):
    s = urbackup_server(sim.url, USER, "s3cret-Pa55", basic_username="bu", basic_password="bp-secret")
    assert "s3cret" not in repr(s) and "bp-secret" not in repr(s)
    with pytest.raises(AuthenticationError) as e:
        s.get_client_statuses()
    assert "s3cret" not in str(e.value) and "bp-secret" not in str(e.value)
