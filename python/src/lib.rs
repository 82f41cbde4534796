//! `urbackup._urbackup`: the Rust side of the Python package `urbackup`.
//!
//! One class, [`Server`], wraps the crate's async `UrbackupServer` (one session shared by all
//! threads, single-flight re-login, timeouts, safe settings writes: all the crate's). Every
//! call runs on one process-wide tokio runtime with the GIL released while it waits on the
//! network, so Python threads using one handle run their requests in parallel.
//!
//! The legacy surface (raw `dict`/`list`, `None`/`False` on failure) is implemented here
//! directly. Typed methods are exposed with a leading underscore and return plain dicts; the
//! pure-Python layer (`urbackup/__init__.py`) turns those into the specification's dataclasses.
//! Errors become the exception classes of `urbackup._errors`.

mod models;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use serde::Serialize;
use serde_json::Value;
use urbackup::{
    BackupRef, BackupType, InstallerOS, LogFilter, LogLevel, SettingValue, UrbackupError,
};

// ---- runtime -------------------------------------------------------------------------------

static RUNTIME: GILOnceCell<tokio::runtime::Runtime> = GILOnceCell::new();

fn runtime(py: Python<'_>) -> PyResult<&'static tokio::runtime::Runtime> {
    RUNTIME.get_or_try_init(py, || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("urbackup-py")
            .enable_all()
            .build()
            .map_err(|e| {
                pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start a runtime: {e}"))
            })
    })
}

/// Runs `f` to completion on the shared runtime with the GIL released.
fn block<F>(py: Python<'_>, f: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime(py)?;
    Ok(py.allow_threads(|| rt.block_on(f)))
}

// ---- errors --------------------------------------------------------------------------------

fn error_class(e: &UrbackupError) -> &'static str {
    match e {
        UrbackupError::Authentication(_) => "AuthenticationError",
        UrbackupError::ClientNotFound(_) => "ClientNotFoundError",
        UrbackupError::AccessDenied { .. } => "AccessDeniedError",
        UrbackupError::UserAlreadyExists(_) => "UserAlreadyExistsError",
        UrbackupError::UnknownSetting(_) => "UnknownSettingError",
        UrbackupError::Timeout { .. } => "UrbackupTimeoutError",
        UrbackupError::Transport { .. } => "UrbackupConnectionError",
        UrbackupError::HttpStatus { .. } => "HttpStatusError",
        UrbackupError::UnexpectedResponse { .. } | UrbackupError::ResponseTooLarge { .. } => {
            "UnexpectedResponseError"
        }
        UrbackupError::Server { .. } => "ServerError",
        UrbackupError::InvalidInput(_) => "InvalidInputError",
        UrbackupError::Io { .. } => "UrbackupIOError",
        UrbackupError::Unsupported { .. } => "UnsupportedError",
        _ => "UrbackupError",
    }
}

/// The Python exception for a crate error: the class of `urbackup._errors` named by
/// [`error_class`], with `outcome_unknown` and `transient` set (never a secret: the crate's
/// messages carry none).
fn py_err(py: Python<'_>, e: UrbackupError) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = py.import("urbackup._errors")?;
        let class = module.getattr(error_class(&e))?;
        let message = match &e {
            // KeyError subclasses print their first argument's repr: give just the key.
            UrbackupError::UnknownSetting(key) => key.clone(),
            other => other.to_string(),
        };
        let inst = class.call1((message,))?;
        inst.setattr("outcome_unknown", e.outcome_unknown())?;
        inst.setattr("transient", e.is_transient())?;
        if let UrbackupError::HttpStatus { status, .. } = &e {
            inst.setattr("status", *status)?;
        }
        Ok(PyErr::from_value(inst))
    };
    build().unwrap_or_else(|err| err)
}

trait OrRaise<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, UrbackupError> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| py_err(py, e))
    }
}

// ---- conversions ---------------------------------------------------------------------------

fn to_py(py: Python<'_>, v: &Value) -> PyResult<PyObject> {
    Ok(pythonize::pythonize(py, v)?.unbind())
}

/// Raw objects as the server sent them, as one Python list: their JSON texts joined and
/// parsed by `json.loads` (C speed, no intermediate tree).
fn raw_list<'a>(py: Python<'_>, raws: impl Iterator<Item = &'a str>) -> PyResult<PyObject> {
    let mut text = String::from("[");
    for (i, r) in raws.enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(r);
    }
    text.push(']');
    models::json_loads(py, &text)
}

/// The legacy surface's answer to a failure: `None` (the error is dropped, as the
/// specification says; the crate's legacy methods log it through `tracing`).
fn none_on_error<T>(
    py: Python<'_>,
    r: Result<T, UrbackupError>,
    f: impl FnOnce(T) -> PyResult<PyObject>,
) -> PyResult<PyObject> {
    match r {
        Ok(v) => f(v),
        Err(_) => Ok(py.None()),
    }
}

fn opt_to_py(py: Python<'_>, v: Option<Value>) -> PyResult<PyObject> {
    match v {
        Some(v) => to_py(py, &v),
        None => Ok(py.None()),
    }
}

/// A model as a JSON object of its fields, plus `raw` (the object as the server sent it).
trait Model: Serialize {
    fn raw_value(&self) -> Value;
}

macro_rules! models {
    ($($t:ty),*) => {$(
        impl Model for $t {
            fn raw_value(&self) -> Value {
                self.raw.to_value()
            }
        }
    )*};
}
models!(
    urbackup::ClientStatus,
    urbackup::BackupEntry,
    urbackup::UsageEntry,
    urbackup::ActionProgress,
    urbackup::LogEntry,
    urbackup::ExtraClient,
    urbackup::User,
    urbackup::Group,
    urbackup::LogSummary,
    urbackup::FileEntry,
    urbackup::Activity
);

fn model_value<M: Model>(m: &M) -> Value {
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("raw".to_owned(), m.raw_value());
    }
    v
}

fn model_list<M: Model>(py: Python<'_>, items: &[M]) -> PyResult<PyObject> {
    let v = Value::Array(items.iter().map(model_value).collect());
    to_py(py, &v)
}

fn plain<T: Serialize>(py: Python<'_>, t: &T) -> PyResult<PyObject> {
    to_py(py, &serde_json::to_value(t).unwrap_or(Value::Null))
}

/// A Python value to write into a setting: `bool`, `int`, `str` (anything else: its `str()`).
fn setting_value(v: &Bound<'_, PyAny>) -> PyResult<SettingValue> {
    if v.is_instance_of::<PyBool>() {
        return Ok(SettingValue::Bool(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(SettingValue::Int(v.extract()?));
    }
    if v.is_instance_of::<PyString>() {
        return Ok(SettingValue::Text(v.extract()?));
    }
    if v.is_instance_of::<PyFloat>() {
        let f: f64 = v.extract()?;
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            return Ok(SettingValue::Int(f as i64));
        }
    }
    Ok(SettingValue::Text(v.str()?.extract()?))
}

fn changes(d: &Bound<'_, PyDict>) -> PyResult<Vec<(String, SettingValue)>> {
    d.iter()
        .map(|(k, v)| Ok((k.extract::<String>()?, setting_value(&v)?)))
        .collect()
}

/// `BackupType` member or its value (`"incr_file"` ...): a str-Enum member is a `str`.
fn backup_type(v: &Bound<'_, PyAny>) -> PyResult<BackupType> {
    let s: String = v
        .extract()
        .map_err(|_| PyTypeError::new_err("backup_type must be a BackupType or a str"))?;
    s.parse().map_err(PyValueError::new_err)
}

/// `InstallerOS` member or its value (`"linux"`, `"windows"`, `"mac"`).
fn installer_os(s: &str) -> PyResult<InstallerOS> {
    s.parse().map_err(PyValueError::new_err)
}

fn backup_ref(backupid: i64, image: bool) -> BackupRef {
    if image {
        BackupRef::Image(backupid)
    } else {
        BackupRef::File(backupid)
    }
}

fn secs(name: &str, v: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(v).map_err(|_| {
        PyValueError::new_err(format!("{name} must be a non-negative number of seconds"))
    })
}

fn log_level(v: i64) -> LogLevel {
    // The Python enum's values (spec: ERROR 1, WARNING 2, INFO 3, DEBUG 4).
    match v {
        1 => LogLevel::Error,
        2 => LogLevel::Warning,
        4 => LogLevel::Debug,
        _ => LogLevel::Info,
    }
}

fn outcome_value(o: &urbackup::RestoreOutcome) -> Value {
    serde_json::json!({
        "log": model_value(&o.log),
        "lines": serde_json::to_value(&o.lines).unwrap_or(Value::Null),
        "elapsed": o.elapsed.as_secs_f64(),
        "succeeded": o.succeeded(),
    })
}

// ---- classes -------------------------------------------------------------------------------

/// A restore that was started (`urbackup_server.restore_files`): pass it to
/// `restore_outcome` / `wait_for_restore_outcome`.
#[pyclass(frozen, module = "urbackup")]
struct RestoreStarted {
    inner: urbackup::RestoreStarted,
}

#[pymethods]
impl RestoreStarted {
    /// The client restored to.
    #[getter]
    fn clientid(&self) -> i64 {
        self.inner.clientid
    }
    /// The file backup restored from.
    #[getter]
    fn backupid(&self) -> i64 {
        self.inner.backupid
    }
    /// The folder sent as `path` (for a single file: its folder).
    #[getter]
    fn path(&self) -> String {
        self.inner.path.clone()
    }
    /// The names inside `path` sent as `filter`, if any.
    #[getter]
    fn filter(&self) -> Option<String> {
        self.inner.filter.clone()
    }
    /// A person at the client must confirm the restore before it starts.
    #[getter]
    fn needs_client_confirmation(&self) -> bool {
        self.inner.needs_client_confirmation
    }
    /// The key the server's `restore_prepare_wait` waits on.
    #[getter]
    fn wait_key(&self) -> String {
        self.inner.wait_key.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "RestoreStarted(clientid={}, backupid={}, path={:?}, filter={:?}, needs_client_confirmation={})",
            self.inner.clientid,
            self.inner.backupid,
            self.inner.path,
            self.inner.filter,
            if self.inner.needs_client_confirmation { "True" } else { "False" }
        )
    }
}

/// The connection to one UrBackup server (base class of `urbackup.urbackup_server`).
#[pyclass(subclass, frozen, module = "urbackup")]
struct Server {
    inner: urbackup::UrbackupServer,
}

#[pymethods]
impl Server {
    #[new]
    #[pyo3(signature = (url, username, password, *, basic_username = "", basic_password = "",
        timeout = None, connect_timeout = None, long_poll_timeout = None,
        read_retries = None, ca_file = None, insecure = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: &str,
        username: &str,
        password: &str,
        basic_username: &str,
        basic_password: &str,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        long_poll_timeout: Option<f64>,
        read_retries: Option<u32>,
        ca_file: Option<PathBuf>,
        insecure: bool,
        py: Python<'_>,
    ) -> PyResult<Self> {
        let mut b = urbackup::UrbackupServer::builder(url).credentials(username, password);
        if !basic_username.is_empty() || !basic_password.is_empty() {
            b = b.basic_auth(basic_username, basic_password);
        }
        if let Some(t) = timeout {
            b = b.timeout(secs("timeout", t)?);
        }
        if let Some(t) = connect_timeout {
            b = b.connect_timeout(secs("connect_timeout", t)?);
        }
        if let Some(t) = long_poll_timeout {
            b = b.long_poll_timeout(secs("long_poll_timeout", t)?);
        }
        if let Some(n) = read_retries {
            b = b.read_retries(n);
        }
        if let Some(p) = ca_file {
            b = b.ca_certificate_file(p);
        }
        if insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        let inner = b.build().or_raise(py)?;
        Ok(Server { inner })
    }

    /// The action endpoint (`.../x`).
    #[getter]
    fn url(&self) -> String {
        self.inner.url().to_owned()
    }

    fn __repr__(&self) -> String {
        format!("urbackup_server({:?})", self.inner.url())
    }

    /// Forgets the session: the next call logs in again.
    fn forget_session(&self) {
        self.inner.forget_session()
    }

    // ---- legacy surface ------------------------------------------------------------------

    /// Logs in unless a session exists. `True` on success.
    fn login(&self, py: Python<'_>) -> PyResult<bool> {
        block(py, self.inner.login())
    }

    /// All client statuses (raw), `None` on failure.
    fn get_status(&self, py: Python<'_>) -> PyResult<PyObject> {
        let r = block(py, self.inner.get_client_statuses())?;
        none_on_error(py, r, |v| raw_list(py, v.iter().map(|c| c.raw.get())))
    }

    /// One client's status (raw), `None` on failure or when there is no such client.
    fn get_client_status(&self, py: Python<'_>, clientname: &str) -> PyResult<PyObject> {
        let r = block(py, self.inner.get_client_status_by_name(clientname))?;
        none_on_error(py, r, |c| models::json_loads(py, c.raw.get()))
    }

    /// The server identity, `None` on failure.
    fn get_server_identity(&self, py: Python<'_>) -> PyResult<Option<String>> {
        block(py, self.inner.get_server_identity())
    }

    /// Storage usage per client (raw), `None` on failure.
    fn get_usage(&self, py: Python<'_>) -> PyResult<PyObject> {
        let r = block(py, self.inner.get_usage_typed())?;
        none_on_error(py, r, |v| raw_list(py, v.iter().map(|c| c.raw.get())))
    }

    /// Running actions (raw), `None` on failure.
    fn get_actions(&self, py: Python<'_>) -> PyResult<PyObject> {
        let r = block(py, self.inner.get_actions_typed())?;
        none_on_error(py, r, |v| raw_list(py, v.iter().map(|c| c.raw.get())))
    }

    /// The live log (raw; `clientid` 0 = server log), `None` on failure. An empty log is `[]`.
    #[pyo3(signature = (clientid = 0))]
    fn get_livelog(&self, py: Python<'_>, clientid: i64) -> PyResult<PyObject> {
        let r = block(py, self.inner.get_livelog_typed(clientid))?;
        none_on_error(py, r, |v| raw_list(py, v.iter().map(|c| c.raw.get())))
    }

    /// Extra clients (raw), `None` on failure.
    fn get_extra_clients(&self, py: Python<'_>) -> PyResult<PyObject> {
        let r = block(py, self.inner.get_extra_clients_typed())?;
        none_on_error(py, r, |v| raw_list(py, v.iter().map(|c| c.raw.get())))
    }

    /// Global settings (raw), `None` on failure.
    fn get_global_settings(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_global_settings())?;
        opt_to_py(py, v)
    }

    /// One client's settings (raw), `None` on failure.
    fn get_client_settings(&self, py: Python<'_>, clientname: &str) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_client_settings(clientname))?;
        opt_to_py(py, v)
    }

    /// A client's internet auth key, `None` on failure.
    fn get_client_authkey(&self, py: Python<'_>, clientname: &str) -> PyResult<Option<String>> {
        block(py, self.inner.get_client_authkey(clientname))
    }

    /// Changes one global setting (only that key is sent). `True` when the server saved it.
    fn set_global_setting(
        &self,
        py: Python<'_>,
        key: &str,
        new_value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let v = setting_value(new_value)?;
        block(py, self.inner.set_global_setting(key, v))
    }

    /// Changes one setting of a client. `True` when the server saved it.
    fn change_client_setting(
        &self,
        py: Python<'_>,
        clientname: &str,
        key: &str,
        new_value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let v = setting_value(new_value)?;
        block(py, self.inner.change_client_setting(clientname, key, v))
    }

    /// Adds a client (raw reply with `new_authkey`...), `None` on failure or if it exists.
    fn add_client(&self, py: Python<'_>, clientname: &str) -> PyResult<PyObject> {
        let v = block(py, self.inner.add_client(clientname))?;
        opt_to_py(py, v)
    }

    /// Adds an extra client by host name or address.
    fn add_extra_client(&self, py: Python<'_>, addr: &str) -> PyResult<bool> {
        block(py, self.inner.add_extra_client(addr))
    }

    /// Removes an extra client by its id (an `int`, or the numeric string the server sends
    /// in `get_extra_clients()`).
    fn remove_extra_client(&self, py: Python<'_>, ecid: &Bound<'_, PyAny>) -> PyResult<bool> {
        let id = match ecid.extract::<i64>() {
            Ok(id) => id,
            Err(_) => match ecid
                .extract::<String>()
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                Some(id) => id,
                None => return Ok(false),
            },
        };
        block(py, self.inner.remove_extra_client(id))
    }

    /// Starts an incremental file backup.
    fn start_incr_file_backup(&self, py: Python<'_>, clientname: &str) -> PyResult<bool> {
        block(py, self.inner.start_incr_file_backup(clientname))
    }

    /// Starts a full file backup.
    fn start_full_file_backup(&self, py: Python<'_>, clientname: &str) -> PyResult<bool> {
        block(py, self.inner.start_full_file_backup(clientname))
    }

    /// Starts an incremental image backup.
    fn start_incr_image_backup(&self, py: Python<'_>, clientname: &str) -> PyResult<bool> {
        block(py, self.inner.start_incr_image_backup(clientname))
    }

    /// Starts a full image backup.
    fn start_full_image_backup(&self, py: Python<'_>, clientname: &str) -> PyResult<bool> {
        block(py, self.inner.start_full_image_backup(clientname))
    }

    /// Stops a running action given as a dict of `get_actions()` (needs `clientid`, `id`).
    fn stop_action(&self, py: Python<'_>, action: &Bound<'_, PyAny>) -> PyResult<bool> {
        let v: Value = match pythonize::depythonize(action) {
            Ok(v) => v,
            Err(_) => return Ok(false),
        };
        block(py, self.inner.stop_action(&v))
    }

    /// Downloads a client installer to `installer_fn`, adding the client if needed.
    #[pyo3(signature = (installer_fn, new_clientname, os = "linux"))]
    fn download_installer(
        &self,
        py: Python<'_>,
        installer_fn: PathBuf,
        new_clientname: &str,
        os: &str,
    ) -> PyResult<bool> {
        let os = installer_os(os)?;
        let r = block(
            py,
            self.inner
                .download_installer_typed(&installer_fn, new_clientname, os),
        )?;
        Ok(r.unwrap_or(false))
    }

    // ---- typed surface (dicts; the Python layer builds the dataclasses) -------------------

    fn _login_typed(&self, py: Python<'_>) -> PyResult<PyObject> {
        let info = block(py, self.inner.login_typed())?.or_raise(py)?;
        plain(py, &info)
    }

    fn get_client_statuses(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_client_statuses())?.or_raise(py)?;
        models::ClientStatus::list(py, v)
    }

    fn get_client_status_by_name(
        &self,
        py: Python<'_>,
        clientname: &str,
    ) -> PyResult<models::ClientStatus> {
        let v = block(py, self.inner.get_client_status_by_name(clientname))?.or_raise(py)?;
        Ok(models::ClientStatus::new(v))
    }

    fn get_server_identity_str(&self, py: Python<'_>) -> PyResult<String> {
        block(py, self.inner.get_server_identity_str())?.or_raise(py)
    }

    fn get_usage_typed(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_usage_typed())?.or_raise(py)?;
        models::UsageEntry::list(py, v)
    }

    fn get_actions_typed(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_actions_typed())?.or_raise(py)?;
        models::ActionProgress::list(py, v)
    }

    #[pyo3(signature = (clientid = 0))]
    fn get_livelog_typed(&self, py: Python<'_>, clientid: i64) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_livelog_typed(clientid))?.or_raise(py)?;
        models::LogEntry::list(py, v)
    }

    fn get_extra_clients_typed(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_extra_clients_typed())?.or_raise(py)?;
        models::ExtraClient::list(py, v)
    }

    fn get_backups(&self, py: Python<'_>, clientid: i64) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_backups(clientid))?.or_raise(py)?;
        models::BackupEntry::list(py, v)
    }

    fn get_image_backups(&self, py: Python<'_>, clientid: i64) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_image_backups(clientid))?.or_raise(py)?;
        models::BackupEntry::list(py, v)
    }

    /// Global settings as the server sent them (raises `AccessDeniedError`).
    fn get_global_settings_typed(&self, py: Python<'_>) -> PyResult<PyObject> {
        let s = block(py, self.inner.get_global_settings_typed())?.or_raise(py)?;
        to_py(py, &s.raw)
    }

    /// Changes one global setting (only that key is sent; the reply is checked).
    fn set_global_setting_typed(
        &self,
        py: Python<'_>,
        key: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let v = setting_value(value)?;
        block(py, self.inner.set_global_setting_typed(key, v))?.or_raise(py)
    }

    /// A client's settings as the server sent them.
    fn get_client_settings_typed(&self, py: Python<'_>, clientname: &str) -> PyResult<PyObject> {
        let s = block(py, self.inner.get_client_settings_typed(clientname))?.or_raise(py)?;
        to_py(py, &s.raw)
    }

    /// Changes one setting of a client (raises `KeyError` for an unknown key).
    fn change_client_setting_typed(
        &self,
        py: Python<'_>,
        clientname: &str,
        key: &str,
        new_value: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let v = setting_value(new_value)?;
        block(
            py,
            self.inner.change_client_setting_typed(clientname, key, v),
        )?
        .or_raise(py)
    }

    /// Starts a backup of the given `BackupType`.
    fn start_backup_typed(
        &self,
        py: Python<'_>,
        clientname: &str,
        backup_type: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let t = self::backup_type(backup_type)?;
        block(py, self.inner.start_backup_typed(clientname, t))?.or_raise(py)
    }

    /// Stops a running action of `get_actions_typed()` (any object with `clientid` and `id`).
    fn stop_action_typed(&self, py: Python<'_>, action: &Bound<'_, PyAny>) -> PyResult<bool> {
        let clientid: i64 = action.getattr("clientid")?.extract()?;
        let id: i64 = action.getattr("id")?.extract()?;
        block(py, self.inner.stop_action_ids(clientid, id))?.or_raise(py)
    }

    fn get_users(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_users())?.or_raise(py)?;
        models::User::list(py, v)
    }

    fn get_groups(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_groups())?.or_raise(py)?;
        models::Group::list(py, v)
    }

    /// Adds a user (raises `UserAlreadyExistsError`); `True` once the user is listed.
    #[pyo3(signature = (username, password, rights = "all"))]
    fn add_user(
        &self,
        py: Python<'_>,
        username: &str,
        password: &str,
        rights: &str,
    ) -> PyResult<bool> {
        block(py, self.inner.add_user(username, password, rights))?.or_raise(py)
    }

    /// Downloads a client installer, adding the client if needed (raises on failure).
    #[pyo3(signature = (installer_fn, new_clientname, os = None))]
    fn download_installer_typed(
        &self,
        py: Python<'_>,
        installer_fn: PathBuf,
        new_clientname: &str,
        os: Option<&str>,
    ) -> PyResult<bool> {
        let os = match os {
            Some(os) => installer_os(os)?,
            None => InstallerOS::Linux,
        };
        block(
            py,
            self.inner
                .download_installer_typed(&installer_fn, new_clientname, os),
        )?
        .or_raise(py)
    }

    // ---- beyond the specification --------------------------------------------------------

    /// The id of the client of that name (raises `ClientNotFoundError`).
    fn client_id(&self, py: Python<'_>, clientname: &str) -> PyResult<i64> {
        block(py, self.inner.client_id(clientname))?.or_raise(py)
    }

    fn _last_activities(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = block(py, self.inner.last_activities())?.or_raise(py)?;
        model_list(py, &v)
    }

    /// Running actions of one client.
    fn client_actions(&self, py: Python<'_>, clientid: i64) -> PyResult<PyObject> {
        let v = block(py, self.inner.client_actions(clientid))?.or_raise(py)?;
        models::ActionProgress::list(py, v)
    }

    #[pyo3(signature = (clientid, backupid, path = "/", image = false))]
    fn _browse_backup(
        &self,
        py: Python<'_>,
        clientid: i64,
        backupid: i64,
        path: &str,
        image: bool,
    ) -> PyResult<PyObject> {
        let l = block(
            py,
            self.inner
                .browse_backup(clientid, backup_ref(backupid, image), path),
        )?
        .or_raise(py)?;
        let mut v = serde_json::to_value(&l).unwrap_or(Value::Null);
        if let Some(files) = v.get_mut("files") {
            *files = Value::Array(l.files.iter().map(model_value).collect());
        }
        to_py(py, &v)
    }

    /// Downloads one file of a backup to `dest` (streamed, renamed when complete); the
    /// number of bytes written.
    #[pyo3(signature = (clientid, backupid, path, dest, *, image = false))]
    fn download_file(
        &self,
        py: Python<'_>,
        clientid: i64,
        backupid: i64,
        path: &str,
        dest: PathBuf,
        image: bool,
    ) -> PyResult<u64> {
        block(
            py,
            self.inner
                .download_file(clientid, backup_ref(backupid, image), path, &dest),
        )?
        .or_raise(py)
    }

    /// Downloads a folder of a backup as a zip file to `dest`; the number of bytes written.
    #[pyo3(signature = (clientid, backupid, path, dest, *, image = false))]
    fn download_folder_zip(
        &self,
        py: Python<'_>,
        clientid: i64,
        backupid: i64,
        path: &str,
        dest: PathBuf,
        image: bool,
    ) -> PyResult<u64> {
        block(
            py,
            self.inner
                .download_folder_zip(clientid, backup_ref(backupid, image), path, &dest),
        )?
        .or_raise(py)
    }

    /// Starts restoring `path` of a file backup onto the client (a folder, or one file; with
    /// `filter`, the names inside the folder `path`).
    #[pyo3(signature = (clientid, backupid, path, filter = None))]
    fn restore_files(
        &self,
        py: Python<'_>,
        clientid: i64,
        backupid: i64,
        path: &str,
        filter: Option<&str>,
    ) -> PyResult<RestoreStarted> {
        let inner = block(
            py,
            self.inner.restore_files(clientid, backupid, path, filter),
        )?
        .or_raise(py)?;
        Ok(RestoreStarted { inner })
    }

    fn _restore_outcome(&self, py: Python<'_>, restore: &RestoreStarted) -> PyResult<PyObject> {
        let o = block(py, self.inner.restore_outcome(&restore.inner))?.or_raise(py)?;
        match o {
            Some(o) => to_py(py, &outcome_value(&o)),
            None => Ok(py.None()),
        }
    }

    #[pyo3(signature = (restore, interval = 2.0, timeout = None, on_phase = None))]
    fn _wait_for_restore_outcome(
        &self,
        py: Python<'_>,
        restore: &RestoreStarted,
        interval: f64,
        timeout: Option<f64>,
        on_phase: Option<PyObject>,
    ) -> PyResult<PyObject> {
        let interval = secs("interval", interval)?;
        let timeout = timeout.map(|t| secs("timeout", t)).transpose()?;
        let mut callback_error: Option<PyErr> = None;
        let cb = |phase: urbackup::RestorePhase, item: Option<&urbackup::ActionProgress>| {
            let Some(f) = &on_phase else { return };
            if callback_error.is_some() {
                return;
            }
            let name = match phase {
                urbackup::RestorePhase::Preparing => "preparing",
                urbackup::RestorePhase::Queued => "queued",
                urbackup::RestorePhase::Running => "running",
                _ => "unknown",
            };
            let item = item.map(model_value);
            Python::with_gil(|py| {
                let r = (|| -> PyResult<()> {
                    let item = match &item {
                        Some(v) => to_py(py, v)?,
                        None => py.None(),
                    };
                    f.call1(py, (name, item))?;
                    Ok(())
                })();
                if let Err(e) = r {
                    callback_error = Some(e);
                }
            });
        };
        let o = block(
            py,
            self.inner
                .wait_for_restore_outcome(&restore.inner, interval, timeout, cb),
        )?;
        if let Some(e) = callback_error {
            return Err(e);
        }
        match o.or_raise(py)? {
            Some(o) => to_py(py, &outcome_value(&o)),
            None => Ok(py.None()),
        }
    }

    /// Live-log lines after `lastid` (the server waits up to 10 s for new ones).
    #[pyo3(signature = (clientid = 0, lastid = None, logid = None))]
    fn livelog(
        &self,
        py: Python<'_>,
        clientid: i64,
        lastid: Option<i64>,
        logid: Option<i64>,
    ) -> PyResult<PyObject> {
        let v = block(py, self.inner.livelog(clientid, lastid, logid))?.or_raise(py)?;
        models::LogEntry::list(py, v)
    }

    #[pyo3(signature = (clientids = None, min_level = None))]
    fn _get_logs(
        &self,
        py: Python<'_>,
        clientids: Option<Vec<i64>>,
        min_level: Option<i64>,
    ) -> PyResult<PyObject> {
        let filter = LogFilter {
            clientids: clientids.unwrap_or_default(),
            min_level: min_level.map(log_level),
        };
        let v = block(py, self.inner.get_logs(&filter))?.or_raise(py)?;
        model_list(py, &v)
    }

    fn _get_log(&self, py: Python<'_>, logid: i64) -> PyResult<PyObject> {
        let v = block(py, self.inner.get_log(logid))?.or_raise(py)?;
        match v {
            Some(log) => plain(py, &log),
            None => Ok(py.None()),
        }
    }

    /// Removes a user by id.
    fn remove_user(&self, py: Python<'_>, userid: i64) -> PyResult<()> {
        block(py, self.inner.remove_user(userid))?.or_raise(py)
    }

    /// Sets a user's password.
    fn change_password(&self, py: Python<'_>, userid: i64, new_password: &str) -> PyResult<()> {
        block(py, self.inner.change_password(userid, new_password))?.or_raise(py)
    }

    /// Replaces a user's rights (`"all"`, or `domain=right` pairs joined by `&`).
    fn set_user_rights(&self, py: Python<'_>, userid: i64, rights: &str) -> PyResult<()> {
        block(py, self.inner.set_user_rights(userid, rights))?.or_raise(py)
    }

    /// Adds a client group.
    fn add_group(&self, py: Python<'_>, name: &str) -> PyResult<models::Group> {
        let g = block(py, self.inner.add_group(name))?.or_raise(py)?;
        Ok(models::Group::new(g))
    }

    /// Removes a group by id.
    fn remove_group(&self, py: Python<'_>, groupid: i64) -> PyResult<()> {
        block(py, self.inner.remove_group(groupid))?.or_raise(py)
    }

    /// Moves a client into a group (0: the default group).
    fn set_client_group(&self, py: Python<'_>, clientid: i64, groupid: i64) -> PyResult<()> {
        block(py, self.inner.set_client_group(clientid, groupid))?.or_raise(py)
    }

    /// A group's settings as the server sent them.
    fn get_group_settings(&self, py: Python<'_>, groupid: i64) -> PyResult<PyObject> {
        let s = block(py, self.inner.group_settings(groupid))?.or_raise(py)?;
        to_py(py, &s.raw)
    }

    /// Changes several global settings in one save; returns the settings as saved.
    fn set_global_settings(
        &self,
        py: Python<'_>,
        changes: &Bound<'_, PyDict>,
    ) -> PyResult<PyObject> {
        let c = self::changes(changes)?;
        let refs: Vec<(&str, SettingValue)> =
            c.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let s = block(py, self.inner.set_global_settings(&refs))?.or_raise(py)?;
        to_py(py, &s.raw)
    }

    /// Changes several settings of a client (by id) in one save; the settings as saved.
    fn change_client_settings(
        &self,
        py: Python<'_>,
        clientid: i64,
        changes: &Bound<'_, PyDict>,
    ) -> PyResult<PyObject> {
        let c = self::changes(changes)?;
        let refs: Vec<(&str, SettingValue)> =
            c.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let s = block(py, self.inner.change_client_settings(clientid, &refs))?.or_raise(py)?;
        to_py(py, &s.raw)
    }

    /// Changes several settings of a group in one save; the settings as saved.
    fn change_group_settings(
        &self,
        py: Python<'_>,
        groupid: i64,
        changes: &Bound<'_, PyDict>,
    ) -> PyResult<PyObject> {
        let c = self::changes(changes)?;
        let refs: Vec<(&str, SettingValue)> =
            c.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let s = block(py, self.inner.change_group_settings(groupid, &refs))?.or_raise(py)?;
        to_py(py, &s.raw)
    }

    /// Archives a backup (kept until un-archived).
    #[pyo3(signature = (clientid, backupid, *, image = false))]
    fn archive_backup(
        &self,
        py: Python<'_>,
        clientid: i64,
        backupid: i64,
        image: bool,
    ) -> PyResult<()> {
        block(
            py,
            self.inner
                .archive_backup(clientid, backup_ref(backupid, image)),
        )?
        .or_raise(py)
    }

    /// Un-archives a backup.
    #[pyo3(signature = (clientid, backupid, *, image = false))]
    fn unarchive_backup(
        &self,
        py: Python<'_>,
        clientid: i64,
        backupid: i64,
        image: bool,
    ) -> PyResult<()> {
        block(
            py,
            self.inner
                .unarchive_backup(clientid, backup_ref(backupid, image)),
        )?
        .or_raise(py)
    }

    /// Marks a backup for deletion.
    #[pyo3(signature = (clientid, backupid, *, image = false))]
    fn delete_backup(
        &self,
        py: Python<'_>,
        clientid: i64,
        backupid: i64,
        image: bool,
    ) -> PyResult<()> {
        block(
            py,
            self.inner
                .delete_backup(clientid, backup_ref(backupid, image)),
        )?
        .or_raise(py)
    }
}

/// The bytes a name of the server stands for (the crate's rule for names that are not UTF-8:
/// `caf\xE9` is `b"caf\xe9"`), e.g. to make a local file of that name with
/// `os.fsdecode(name_to_bytes(n))`.
#[pyfunction]
fn name_to_bytes<'py>(py: Python<'py>, name: &str) -> Bound<'py, pyo3::types::PyBytes> {
    pyo3::types::PyBytes::new(py, &urbackup::text::to_server(name))
}

/// The name the crate shows for bytes the server sent (the inverse of `name_to_bytes`).
#[pyfunction]
fn name_from_bytes(data: &[u8]) -> String {
    urbackup::text::from_server(data).into_owned()
}

#[pymodule]
fn _urbackup(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Server>()?;
    m.add_function(wrap_pyfunction!(name_to_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(name_from_bytes, m)?)?;
    m.add_class::<RestoreStarted>()?;
    models::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
