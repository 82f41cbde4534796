//! The specification's data types as Python classes holding the crate's models.
//!
//! A field is converted to a Python object when it is read; `raw` (the object as the server
//! sent it) is parsed with Python's `json.loads` from the text the crate kept, on first access,
//! and then cached, so a list of 10,000 clients costs 10,000 small objects, not 10,000 dicts.
//! The specification's fields come first in `_fields` and in `repr()`, as in python-urbackup's
//! dataclasses; `from_dict()` builds one from a raw object, as there.

use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyTuple, PyType};
use pyo3::IntoPyObjectExt;

/// `json.loads(text)`.
pub fn json_loads(py: Python<'_>, text: &str) -> PyResult<PyObject> {
    static LOADS: GILOnceCell<PyObject> = GILOnceCell::new();
    let loads = LOADS.get_or_try_init(py, || -> PyResult<PyObject> {
        Ok(py.import("json")?.getattr("loads")?.unbind())
    })?;
    loads.call1(py, (text,))
}

/// `json.dumps(obj)`.
fn json_dumps(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<String> {
    py.import("json")?
        .getattr("dumps")?
        .call1((obj,))?
        .extract()
}

/// A member of one of the Python enums of `urbackup._types`, or the plain int for a value
/// the enum does not have.
fn py_enum(py: Python<'_>, class: &str, code: i64) -> PyResult<PyObject> {
    let cls = py.import("urbackup._types")?.getattr(class)?;
    match cls.call1((code,)) {
        Ok(v) => Ok(v.unbind()),
        Err(_) => code.into_py_any(py),
    }
}

/// The specification's `LogLevel` value (ERROR 1 ... DEBUG 4) of a crate level.
pub fn spec_level(py: Python<'_>, l: urbackup::LogLevel) -> PyResult<PyObject> {
    let v = match l {
        urbackup::LogLevel::Error => 1,
        urbackup::LogLevel::Warning => 2,
        urbackup::LogLevel::Info => 3,
        _ => 4,
    };
    py_enum(py, "LogLevel", v)
}

fn to_py<T: serde::Serialize>(py: Python<'_>, t: &T) -> PyResult<PyObject> {
    Ok(pythonize::pythonize(py, t)?.unbind())
}

macro_rules! pymodel {
    (
        $(#[$doc:meta])*
        $name:ident ($pyname:literal) wraps $rs:ty;
        plain: [$($f:ident),* $(,)?];
        $(custom: [$($cf:ident => |$s:ident, $py:ident| $e:expr),* $(,)?];)?
        fields: [$($all:literal),* $(,)?];
    ) => {
        $(#[$doc])*
        #[pyclass(frozen, module = "urbackup", name = $pyname)]
        pub struct $name {
            pub inner: $rs,
            raw: GILOnceCell<PyObject>,
        }

        impl $name {
            pub fn new(inner: $rs) -> Self {
                $name { inner, raw: GILOnceCell::new() }
            }

            pub fn list(py: Python<'_>, items: Vec<$rs>) -> PyResult<PyObject> {
                let objs: Vec<Py<$name>> = items
                    .into_iter()
                    .map(|m| Py::new(py, $name::new(m)))
                    .collect::<PyResult<_>>()?;
                objs.into_py_any(py)
            }
        }

        #[pymethods]
        impl $name {
            $(
                #[getter]
                fn $f(&self, py: Python<'_>) -> PyResult<PyObject> {
                    self.inner.$f.clone().into_py_any(py)
                }
            )*
            $($(
                #[getter]
                fn $cf(&self, py: Python<'_>) -> PyResult<PyObject> {
                    let $s = &self.inner;
                    let $py = py;
                    $e
                }
            )*)?

            /// The object exactly as the server sent it (a `dict`, parsed on first access).
            #[getter]
            fn raw(&self, py: Python<'_>) -> PyResult<PyObject> {
                let v = self
                    .raw
                    .get_or_try_init(py, || json_loads(py, self.inner.raw.get()))?;
                Ok(v.clone_ref(py))
            }

            /// The field names, the specification's first.
            #[classattr]
            fn _fields(py: Python<'_>) -> PyResult<Py<PyTuple>> {
                Ok(PyTuple::new(py, [$($all),*])?.unbind())
            }

            /// Builds one from an object as the server sends it (python-urbackup's
            /// `from_dict`).
            #[classmethod]
            fn from_dict(_cls: &Bound<'_, PyType>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
                let text = json_dumps(data.py(), data)?;
                let inner: $rs = serde_json::from_str(&text).map_err(|e| {
                    pyo3::exceptions::PyValueError::new_err(format!(
                        "not a {}: {e}",
                        $pyname
                    ))
                })?;
                Ok($name::new(inner))
            }

            /// The fields (without `raw`) as a `dict`.
            fn to_dict(slf: &Bound<'_, Self>) -> PyResult<PyObject> {
                let d = pyo3::types::PyDict::new(slf.py());
                for f in [$($all),*] {
                    d.set_item(f, slf.getattr(f)?)?;
                }
                Ok(d.into_any().unbind())
            }

            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                let mut parts = Vec::new();
                for f in [$($all),*] {
                    parts.push(format!("{f}={}", slf.getattr(f)?.repr()?));
                }
                Ok(format!("{}({})", $pyname, parts.join(", ")))
            }

            /// Equal when the fields and `raw` are (as for python-urbackup's dataclasses).
            fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
                let Ok(o) = other.downcast::<$name>() else {
                    return Ok(false);
                };
                let py = slf.py();
                if !Self::to_dict(slf)?.bind(py).eq(Self::to_dict(o)?)? {
                    return Ok(false);
                }
                slf.get().raw(py)?.bind(py).eq(o.get().raw(py)?)
            }
        }
    };
}

pymodel! {
    /// One client of `get_client_statuses()`.
    ClientStatus("ClientStatus") wraps urbackup::ClientStatus;
    plain: [id, name, online, lastbackup, lastbackup_image, file_ok, image_ok, ip,
        client_version_string, os_version_string, os_simple, lastseen, groupname,
        delete_pending, file_disabled, image_disabled, image_not_supported, no_backup_paths,
        last_filebackup_issues, status, uid, rejected];
    custom: [processes => |s, py| to_py(py, &s.processes)];
    fields: ["id", "name", "online", "lastbackup", "lastbackup_image", "file_ok", "image_ok",
        "ip", "client_version_string", "os_version_string", "os_simple", "lastseen",
        "groupname", "delete_pending", "file_disabled", "image_disabled",
        "image_not_supported", "no_backup_paths", "last_filebackup_issues", "status", "uid",
        "processes", "rejected"];
}

pymodel! {
    /// A file or image backup of `get_backups()` / `get_image_backups()`.
    BackupEntry("BackupEntry") wraps urbackup::BackupEntry;
    plain: [id, clientid, backuptime, incremental, size_bytes, archived, archive_timeout,
        delete_pending, disable_delete, letter, image];
    fields: ["id", "clientid", "backuptime", "incremental", "size_bytes", "archived",
        "archive_timeout", "delete_pending", "disable_delete", "letter", "image"];
}

pymodel! {
    /// Storage used by one client.
    UsageEntry("UsageEntry") wraps urbackup::UsageEntry;
    plain: [name, used, files, images];
    fields: ["name", "used", "files", "images"];
}

pymodel! {
    /// A running action; `action` is an `ActionType` when it is a known one.
    ActionProgress("ActionProgress") wraps urbackup::ActionProgress;
    plain: [clientid, id, name, progress_percent, details, detail_pc, total_bytes, done_bytes,
        speed_bpms, eta_ms, queue, logid, paused, can_stop_backup, can_show_backup_log];
    custom: [action => |s, py| py_enum(py, "ActionType", s.action.code())];
    fields: ["clientid", "id", "name", "action", "progress_percent", "details", "detail_pc",
        "total_bytes", "done_bytes", "speed_bpms", "eta_ms", "queue", "logid", "paused",
        "can_stop_backup", "can_show_backup_log"];
}

pymodel! {
    /// A live-log line; `level` is a `LogLevel` (the server's number is in `raw`).
    LogEntry("LogEntry") wraps urbackup::LogEntry;
    plain: [id, message, time];
    custom: [level => |s, py| spec_level(py, s.level)];
    fields: ["id", "message", "level", "time"];
}

pymodel! {
    /// An extra client (a host name the server probes for a client).
    ExtraClient("ExtraClient") wraps urbackup::ExtraClient;
    plain: [id, hostname, online];
    fields: ["id", "hostname", "online"];
}

pymodel! {
    /// A web-interface user; `right_list` holds its `{"domain", "right"}` pairs.
    User("User") wraps urbackup::User;
    plain: [id, name, rights];
    custom: [right_list => |s, py| to_py(py, &s.right_list)];
    fields: ["id", "name", "rights", "right_list"];
}

pymodel! {
    /// A client group.
    Group("Group") wraps urbackup::Group;
    plain: [id, name];
    fields: ["id", "name"];
}

/// Adds the classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ClientStatus>()?;
    m.add_class::<BackupEntry>()?;
    m.add_class::<UsageEntry>()?;
    m.add_class::<ActionProgress>()?;
    m.add_class::<LogEntry>()?;
    m.add_class::<ExtraClient>()?;
    m.add_class::<User>()?;
    m.add_class::<Group>()?;
    Ok(())
}
